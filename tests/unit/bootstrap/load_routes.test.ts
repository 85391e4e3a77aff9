/**
 * The route files under app/routes/ load from a project folder whose path a file URL
 * percent-encodes ("~/My Projects/topiq", an "é", a "%"), and under file names with a space:
 * otherwise `npm start`, `serve` and `route:list` cannot start there at all. A file that
 * exports no function is refused by name.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadRoutes } from '../../../bootstrap/routes.js';
import type { Application } from '../../../core/index.js';

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A routes directory under `folder`, holding `files` (name to source). */
function routesDir(folder: string, files: Record<string, string>): URL {
  const base = mkdtempSync(join(tmpdir(), 'topiq-routes-'));
  made.push(base);
  const dir = join(base, folder, 'app', 'routes');
  mkdirSync(dir, { recursive: true });
  for (const [name, source] of Object.entries(files)) writeFileSync(join(dir, name), source);
  return pathToFileURL(`${dir}/`);
}

const route = (pattern: string) =>
  `export default function (routes) { routes.on('${pattern}', async () => {}); }\n`;
const load = (directory: URL) => loadRoutes({} as Application, 'topiq', directory);

describe('loadRoutes', () => {
  it.each(['My Projects', 'projets-é', 'fifty%off', 'plain'])(
    'loads the route files of a project under "%s"',
    async (folder) => {
      const table = await load(routesDir(folder, { 'devices.js': route('devices/{deviceId}/ping') }));
      expect(table.routes().map((each) => each.pattern)).toEqual(['devices/{deviceId}/ping']);
    },
  );

  it('loads route files whose names hold a space, in name order, but not tests or type declarations', async () => {
    const table = await load(
      routesDir('plain', {
        'b device routes.js': route('b/{id}'),
        'a.js': route('a/{id}'),
        'c.test.js': route('c/{id}'),
        'd.d.ts': 'export {};\n',
      }),
    );
    expect(table.routes().map((each) => each.pattern)).toEqual(['a/{id}', 'b/{id}']);
  });

  it('awaits an async definitions function, so routes added after its first await are in the table it returns, in file order', async () => {
    const table = await load(
      routesDir('plain', {
        'a.js':
          "export default async function (routes) { await new Promise((r) => setTimeout(r, 20)); routes.on('a/{id}', async () => {}); }\n",
        'b.js': route('b/{id}'),
      }),
    );
    expect(table.routes().map((each) => each.pattern)).toEqual(['a/{id}', 'b/{id}']);
  });

  it('fails the load with the error an async definitions function rejects with', async () => {
    await expect(
      load(
        routesDir('plain', {
          'a.js': "export default async function () { await null; throw new Error('flags file missing'); }\n",
        }),
      ),
    ).rejects.toThrow('flags file missing');
  });

  it('refuses a route file without a default function, naming it', async () => {
    await expect(
      load(routesDir('My Projects', { 'broken.js': 'export const x = 1;\n' })),
    ).rejects.toMatchObject({
      code: 'E_INVALID_ROUTE',
      message: expect.stringContaining('app/routes/broken.js must export a default function'),
    });
  });
});
