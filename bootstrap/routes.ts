/**
 * Discovers the route files under `app/routes/` (every `.ts` file, in name order) and
 * lets each add its routes to one table.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type AppRouteTable, type Application, createRouteTable, InvalidRouteError } from '../core/index.js';

const ROUTES_DIR = new URL('../app/routes/', import.meta.url);

/** Builds the route table from every file in `app/routes/`. */
export async function loadRoutes(
  app: Application,
  sharedGroup: string,
  directory: URL = ROUTES_DIR,
): Promise<AppRouteTable> {
  const table = createRouteTable(sharedGroup);
  const files = readdirSync(directory)
    .filter((name) => /\.(ts|js)$/.test(name) && !name.endsWith('.d.ts') && !name.includes('.test.'))
    .sort();
  for (const file of files) {
    // from the path: a URL's pathname is percent-encoded already (a folder "My Projects" is
    // My%20Projects), and a file name may hold "#" or "?"
    const module = (await import(pathToFileURL(join(fileURLToPath(directory), file)).href)) as {
      default?: unknown;
    };
    if (typeof module.default !== 'function') {
      throw new InvalidRouteError(
        `app/routes/${file} must export a default function, e.g. export default defineRoutes((routes) => { ... })`,
      );
    }
    // awaited: an async definitions function (one reading a file first) has every route in
    // the table before the server builds its router and subscriptions from it
    await module.default(table, app);
  }
  return table;
}
