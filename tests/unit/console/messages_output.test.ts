import { describe, expect, it } from 'vitest';
import { payloadPreview } from '../../../core/console/commands/messages_failed_command.js';

describe('payloadPreview', () => {
  it('shows short text payloads on one line', () => {
    expect(payloadPreview({ payload: '{\n  "a": 1\n}', encoding: 'utf8', truncated: false })).toBe(
      '{ "a": 1 }',
    );
  });

  it('cuts long payloads to 40 characters ending in an ellipsis', () => {
    const preview = payloadPreview({ payload: 'x'.repeat(100), encoding: 'utf8', truncated: false });
    expect(preview).toHaveLength(40);
    expect(preview.endsWith('…')).toBe(true);
  });

  it('marks binary payloads and payloads the store cut', () => {
    expect(payloadPreview({ payload: 'AAEC', encoding: 'base64', truncated: false })).toBe('base64:AAEC');
    expect(payloadPreview({ payload: 'abc', encoding: 'utf8', truncated: true })).toBe('abc…');
  });
});
