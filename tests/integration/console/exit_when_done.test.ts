/**
 * A finished command's process ends even when something it started still holds the event loop
 * (a job handler that ignored its signal), and is not kept waiting when nothing does.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const module = fileURLToPath(new URL('../../../core/console/exit_when_done.ts', import.meta.url));

/** Runs `script` in a Node process with tsx; resolves to its exit code and how long it ran. */
function runNode(script: string): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: 'ignore',
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, ms: Date.now() - started }));
  });
}

describe('exitWhenDone', () => {
  it("ends a process that a lingering handler's timer would keep alive, with the command's code", async () => {
    const script = `
      const { exitWhenDone } = await import(${JSON.stringify(module)});
      setInterval(() => {}, 1000); // a handler that ignored its signal, still running
      exitWhenDone(3, 300);`;
    const { code, ms } = await runNode(script);
    expect(code).toBe(3);
    expect(ms).toBeLessThan(5000);
  });

  it('lets a process with nothing left exit at once, not after the linger time', async () => {
    const script = `
      const { exitWhenDone } = await import(${JSON.stringify(module)});
      exitWhenDone(0, 20_000);`;
    const { code, ms } = await runNode(script);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(10_000);
  });
});
