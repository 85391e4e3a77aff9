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
  /** The settings, or throws `E_INVALID_CONFIG` naming every bad value. */
  read(env: Record<string, string | undefined>): T;
  /**
   * The settings, or what is wrong with `env` (`invalid <name> configuration: ...`), for a
   * caller reporting several sections in one error ({@link readSections}).
   */
  check(env: Record<string, string | undefined>): { value: T } | { problems: string };
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
  const check = (env: Record<string, string | undefined>): { value: T } | { problems: string } => {
    // empty values mean "unset", as in most .env files (a blank one is a value: a password
    // may be spaces, and a number of spaces is refused by its schema)
    const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
    const parsed = schema.safeParse(cleaned);
    if (parsed.success) return { value: shape(parsed.data) };
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || name}: ${issue.message}`);
    return { problems: `invalid ${name} configuration: ${problems.join('; ')}` };
  };
  return {
    name,
    variables: schema instanceof z.ZodObject ? Object.keys(schema.shape) : [],
    check,
    read(env) {
      const checked = check(env);
      if ('problems' in checked) throw invalidConfig([checked.problems]);
      return checked.value;
    },
  };
}

/** One `E_INVALID_CONFIG` for the problems of one or more sections, with what to do. */
function invalidConfig(problems: readonly string[]): InvalidConfigError {
  return new InvalidConfigError(`${problems.join('; ')}. ${FIX_HINT}`);
}

const FIX_HINT = 'Fix the environment or .env (see .env.example)';

type SectionValues<S extends readonly ConfigSection<unknown>[]> = {
  [K in keyof S]: S[K] extends ConfigSection<infer T> ? T : never;
};

/**
 * Reads several config sections and, when more than one is wrong, reports them all in one
 * `E_INVALID_CONFIG` (the sections' reports joined by `; `), so a user fixes the environment in one pass
 * instead of meeting the next section's problem after each fix.
 *
 * @example
 * const [app, queue, mqtt] = readSections(process.env, [appConfig, queueConfig, mqttConfig]);
 */
export function readSections<const S extends readonly ConfigSection<unknown>[]>(
  env: Record<string, string | undefined>,
  sections: S,
): SectionValues<S> {
  const values: unknown[] = [];
  const problems: string[] = [];
  for (const section of sections) {
    const checked = section.check(env);
    if ('problems' in checked) problems.push(checked.problems);
    else values.push(checked.value);
  }
  if (problems.length > 0) throw invalidConfig(problems);
  return values as SectionValues<S>;
}
