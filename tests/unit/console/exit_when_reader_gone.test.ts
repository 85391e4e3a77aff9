import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { exitWhenReaderGone } from '../../../core/console/exit_when_done.js';

/** A stream error as Node reports a write to a closed pipe (or another failure). */
function writeError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`write ${code}`), { code, syscall: 'write' });
}

describe('exitWhenReaderGone', () => {
  it('ends with exit code 0 when a write finds the reader gone (EPIPE)', () => {
    const stream = new EventEmitter();
    const exit = vi.fn();
    exitWhenReaderGone(stream as unknown as NodeJS.WritableStream, exit);
    stream.emit('error', writeError('EPIPE'));
    expect(exit).toHaveBeenCalledWith(0);
  });

  it('throws any other error of the stream, as before', () => {
    const stream = new EventEmitter();
    const exit = vi.fn();
    exitWhenReaderGone(stream as unknown as NodeJS.WritableStream, exit);
    expect(() => stream.emit('error', writeError('EIO'))).toThrow('write EIO');
    expect(exit).not.toHaveBeenCalled();
  });
});
