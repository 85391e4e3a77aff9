/** Argument helpers shared by the benches and their child processes. */

/** The value of a required `--name` flag; throws naming the flag when it is missing. */
export function required(name: string, value: string | undefined): string {
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

/** A whole-number flag's value; throws naming the flag and the floor when it is not one. */
export function wholeNumber(flag: string, value: string, min: number): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < min)
    throw new Error(`${flag} takes a whole number >= ${min}; got ${value}`);
  return number;
}

/** `--system`, which names the system a bench child runs. */
export function requiredSystem(value: string | undefined): 'topiq' | 'bullmq' {
  const system = required('system', value);
  if (system !== 'topiq' && system !== 'bullmq')
    throw new Error(`--system must be topiq or bullmq; got ${system}`);
  return system;
}
