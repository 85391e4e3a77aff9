/** Test helper for CLI argument parsers. */
import { InvalidArgumentError } from 'commander';
import { expect } from 'vitest';

/** The error `parse` throws, which must be commander's, so the kernel exits 2. */
export function rejection(parse: () => unknown): InvalidArgumentError {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    return error as InvalidArgumentError;
  }
  throw new Error('expected the parser to reject the value');
}
