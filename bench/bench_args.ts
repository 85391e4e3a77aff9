/** Argument helpers shared by the bench's child processes. */

/** The value of a required `--name` flag; throws naming the flag when it is missing. */
export function required(name: string, value: string | undefined): string {
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

/** `--system`, which names the system a bench child runs. */
export function requiredSystem(value: string | undefined): 'topiq' | 'bullmq' {
  const system = required('system', value);
  if (system !== 'topiq' && system !== 'bullmq')
    throw new Error(`--system must be topiq or bullmq; got ${system}`);
  return system;
}
