/**
 * The schema shape Topiq accepts wherever it validates untrusted data (job payloads sent
 * by name, message payloads): anything with zod's `safeParse`, without importing zod.
 */

/** Result of `safeParse`. */
export type SafeParseResult<T> = { success: true; data: T } | { success: false; error: unknown };

/** A schema: zod schemas fit. */
export interface PayloadSchema<T> {
  safeParse(value: unknown): SafeParseResult<T>;
}

interface Issue {
  path?: unknown;
  message?: unknown;
}

/** Readable reasons of a failed parse: `path: message; ...` for zod-style issues. */
export function describeSchemaFailure(error: unknown, maxIssues: number): string {
  const issues = (error as { issues?: unknown } | null)?.issues;
  if (Array.isArray(issues) && issues.length > 0) {
    const listed = (issues as Issue[])
      .slice(0, maxIssues)
      .map((issue) => `${formatPath(issue.path)}: ${String(issue.message ?? 'invalid')}`);
    if (issues.length > maxIssues) listed.push(`and ${issues.length - maxIssues} more`);
    return listed.join('; ');
  }
  return error instanceof Error ? error.message : String(error);
}

/** `["readings", 0, "value"]` → `readings[0].value`; the empty path → `(payload)`. */
function formatPath(path: unknown): string {
  if (!Array.isArray(path) || path.length === 0) return '(payload)';
  let text = '';
  for (const segment of path as unknown[]) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_$][\w$]*$/.test(segment)) text += `.${segment}`;
    else text += `[${typeof segment === 'string' ? JSON.stringify(segment) : String(segment)}]`;
  }
  return text.startsWith('.') ? text.slice(1) : text;
}
