/**
 * A job's `spec` field as push_jobs.lua stores it and reserve_jobs.lua returns it after
 * `id\nattempt\n`: `name\nmaxTries\npriority\ncreatedAt\npayload`. The payload comes last, so
 * it may hold anything; a job name never holds a line break (assertJobName).
 */
export interface JobSpec {
  name: string;
  maxTries: number;
  priority: number;
  createdAt: number;
  payload: string;
}

/** Reads the spec that starts at `from` in `text`; undefined when it is cut short. */
export function parseSpec(text: string, from = 0): JobSpec | undefined {
  const parts: string[] = [];
  let at = from;
  for (let i = 0; i < 4; i++) {
    const end = text.indexOf('\n', at);
    if (end < 0) return undefined;
    parts.push(text.slice(at, end));
    at = end + 1;
  }
  return {
    name: parts[0]!,
    maxTries: Number(parts[1]),
    priority: Number(parts[2]),
    createdAt: Number(parts[3]),
    payload: text.slice(at),
  };
}
