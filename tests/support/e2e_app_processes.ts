/**
 * Parent side of `e2e_app_process.ts`: spawns the app with `node --import tsx` and hands
 * back a {@link WorkerProcess} (the child wrapper the reliability tests use: `ready()`,
 * `crash()` for SIGKILL, `stop()` for SIGTERM, `describe()` for failure output).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type AppProcessSettings, settingsToEnv } from './e2e_app_process_settings.js';
import { WorkerProcess } from './worker_processes.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./e2e_app_process.ts', import.meta.url));

/** Starts an app process; call `ready()` on the result before relying on it. */
export function spawnAppProcess(settings: AppProcessSettings): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...settingsToEnv(settings) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new WorkerProcess(child);
}
