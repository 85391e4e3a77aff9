/** Argument helpers shared by the bench's child processes. */

/** The value of a required `--name` flag; throws naming the flag when it is missing. */
export function required(name: string, value: string | undefined): string {
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}
