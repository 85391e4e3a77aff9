import type { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { symbols } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { onLogReaderGone } from '../../../core/console/log_reader_gone.js';
import { createLogger, type Logger } from '../../../core/logger.js';

/** A stream error as Node reports a write to a closed pipe (or another failure). */
function writeError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`write ${code}`), { code, syscall: 'write' });
}

/** A logger and the destination it writes to. */
function loggerWithDestination() {
  const destination = new Writable({ write: (_chunk, _encoding, done) => done() });
  return { destination, log: createLogger({ level: 'info', destination }) };
}

/** The stream pino opened on the standard output for `log` (no writes are made to it here). */
function standardOutputOf(log: Logger): EventEmitter {
  return (log as unknown as Record<symbol, EventEmitter>)[symbols.streamSym]!;
}

describe('onLogReaderGone', () => {
  it("calls back once when a write finds the log's reader gone (EPIPE), also through a child logger", () => {
    const { destination, log } = loggerWithDestination();
    const onGone = vi.fn();
    onLogReaderGone(log.child({ worker: 'w1' }), onGone);
    destination.emit('error', writeError('EPIPE'));
    destination.emit('error', writeError('EPIPE'));
    expect(onGone).toHaveBeenCalledTimes(1);
  });

  it('throws any other error of the destination when nothing else listens, as before', () => {
    const { destination, log } = loggerWithDestination();
    const onGone = vi.fn();
    onLogReaderGone(log, onGone);
    expect(() => destination.emit('error', writeError('EIO'))).toThrow('write EIO');

    const other = vi.fn();
    destination.on('error', other);
    destination.emit('error', writeError('EIO'));
    expect(other).toHaveBeenCalledOnce();
    expect(onGone).not.toHaveBeenCalled();
  });

  it('stops listening when told to', () => {
    const { destination, log } = loggerWithDestination();
    const stopListening = onLogReaderGone(log, () => {});
    expect(destination.listenerCount('error')).toBe(1);
    stopListening();
    expect(destination.listenerCount('error')).toBe(0);
  });

  it('calls back on the next tick when the standard output of createLogger lost its reader before it listened', async () => {
    const log = createLogger({ level: 'info' });
    // the first line's EPIPE, come while the command was still starting (`npx topiq serve | true`)
    standardOutputOf(log).emit('error', writeError('EPIPE'));
    const onGone = vi.fn();
    onLogReaderGone(log.child({ worker: 'w1' }), onGone);
    expect(onGone).not.toHaveBeenCalled();
    await new Promise(process.nextTick);
    expect(onGone).toHaveBeenCalledOnce();
  });

  it('does not call back for a reader already gone once it stopped listening', async () => {
    const log = createLogger({ level: 'info' });
    standardOutputOf(log).emit('error', writeError('EPIPE'));
    const onGone = vi.fn();
    onLogReaderGone(log, onGone)();
    await new Promise(process.nextTick);
    expect(onGone).not.toHaveBeenCalled();
  });

  it("still throws another error of createLogger's standard output, as pino alone does", () => {
    const log = createLogger({ level: 'info' });
    expect(() => standardOutputOf(log).emit('error', writeError('EIO'))).toThrow('write EIO');
  });
});
