/**
 * A job's `spec` field as push_jobs.lua stores it and reserve_jobs.lua returns it after
 * `id\nattempt\nms left before expiresAt\n`: `name\nmaxTries\npriority\ncreatedAt\npayload`.
 * The payload comes last, so it may hold anything; a job name never holds a line break
 * (assertJobName).
 */
export interface JobSpec {
  name: string;
  maxTries: number;
  priority: number;
  createdAt: number;
  payload: string;
}

/**
 * Reads the spec that starts at `from` in `text`. A spec that is cut short (damaged in Redis,
 * or missing) reads as a job of no name with the raw text as a JSON string payload: a worker
 * fails it into the failed store (`E_JOB_NOT_REGISTERED`), and readers still show it.
 */
export function parseSpec(text: string, from = 0): JobSpec {
  const parts: string[] = [];
  let at = from;
  for (let i = 0; i < 4; i++) {
    const end = text.indexOf('\n', at);
    if (end < 0)
      return { name: '', maxTries: 0, priority: 0, createdAt: 0, payload: JSON.stringify(text.slice(from)) };
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
