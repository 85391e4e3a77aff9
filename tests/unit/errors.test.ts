import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as errors from '../../core/errors.js';

describe('error catalogue', () => {
  it('documents every code in docs/errors.md', () => {
    const docs = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    for (const code of Object.keys(errors.errorCatalogue)) {
      expect(docs, `docs/errors.md lacks ${code}`).toContain(`\`${code}\``);
    }
  });

  it("gives each code in docs/errors.md the catalogue's own meaning", () => {
    const rows = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8').split('\n');
    for (const [code, meaning] of Object.entries(errors.errorCatalogue)) {
      const row = rows.find((line) => line.startsWith(`| \`${code}\``));
      expect(row?.split('|')[2]?.trim(), code).toBe(meaning);
    }
  });

  it('has an exported error class for every code, carrying that code and the cause', () => {
    const classes = Object.values(errors).filter(
      (value): value is typeof errors.InvalidPayloadError =>
        typeof value === 'function' && value.prototype instanceof errors.TopiqError,
    );
    const codes = new Set(classes.map((ErrorClass) => new ErrorClass('m').code));
    expect([...codes].sort()).toEqual(Object.keys(errors.errorCatalogue).sort());
    const cause = new Error('root');
    const error = new errors.JobTimeoutError('took too long', { cause });
    expect(error).toBeInstanceOf(errors.TopiqError);
    expect(error.name).toBe('JobTimeoutError');
    expect(error.cause).toBe(cause);
    expect(errors.isTopiqError(error, 'E_JOB_TIMEOUT')).toBe(true);
    expect(errors.isTopiqError(error, 'E_LEASE_LOST')).toBe(false);
  });
});
