/**
 * Typed configuration read from the environment. Each file under `config/` declares a
 * zod schema of the variables it reads and a function shaping them; `readConfig` checks
 * the environment against the schema and reports every bad or missing value at once,
 * as `E_INVALID_CONFIG`, naming the variable and what it expects.
 */
import { z } from 'zod';
import { InvalidConfigError } from '../errors.js';

/** A config section: parse `env` into typed settings. */
export interface ConfigSection<T> {
  readonly name: string;
  /** The environment variables the section reads (its schema's keys), for docs and checks. */
  readonly variables: readonly string[];
  read(env: Record<string, string | undefined>): T;
}

/**
 * Declares a config section.
 *
 * @example
 * export default defineConfig('app', z.object({ LOG_LEVEL: z.string().default('info') }), (env) => ({
 *   logLevel: env.LOG_LEVEL,
 * }));
 */
export function defineConfig<S extends z.ZodType<Record<string, unknown>>, T>(
  name: string,
  schema: S,
  shape: (env: z.output<S>) => T,
): ConfigSection<T> {
  return {
    name,
    variables: schema instanceof z.ZodObject ? Object.keys(schema.shape) : [],
    read(env) {
      // empty values mean "unset", as in most .env files (a blank one is a value: a password
      // may be spaces, and a number of spaces is refused by its schema)
      const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
      const parsed = schema.safeParse(cleaned);
      if (!parsed.success) {
        const problems = parsed.error.issues.map(
          (issue) => `${issue.path.join('.') || name}: ${issue.message}`,
        );
        throw new InvalidConfigError(
          `invalid ${name} configuration: ${problems.join('; ')}. Fix the environment or .env (see .env.example)`,
        );
      }
      return shape(parsed.data);
    },
  };
}
