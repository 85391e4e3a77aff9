/**
 * `npx topiq route:list`: the routes `app/routes/*.ts` define, as a table for people or
 * JSON for scripts. Loading routes only builds the table (middleware such as `rateLimit`
 * keeps a reference to the application's limiter but calls it per message), so this works
 * without Redis even when `REDIS_URL` points at a server that is down.
 */
import { type Command, Option } from 'commander';
import { BaseCommand } from '../../core/console/command.js';
import { type AppRouteTable, formatRouteTable } from '../../core/index.js';
import type { Qos } from '../../core/routing/index.js';

/** One route as `route:list --json` prints it. */
export interface RouteListOutput {
  pattern: string;
  /** The MQTT topic filter, e.g. `devices/+/telemetry`. */
  filter: string;
  /** What the app subscribes to: the filter, behind `$share/<group>/` when shared. */
  subscription: string;
  qos: Qos;
  sharedGroup: string | null;
  /** Middleware names, outermost first. */
  middleware: string[];
  handler: string;
}

/** Lists the application's MQTT routes. */
export class RouteListCommand extends BaseCommand<{ json?: boolean }> {
  static override readonly commandName = 'route:list';
  static override readonly readsQueues = false;
  static override readonly description =
    'List the MQTT routes of app/routes (pattern, subscription, handler)';

  static override configure(command: Command): void {
    command.addOption(new Option('--json', 'print JSON records'));
  }

  async run(): Promise<number> {
    // every section first (after .env): all bad values in one error
    const [{ readAppConfig }, { loadRoutes }] = await Promise.all([
      import('../config.js'),
      import('../routes.js'),
    ]);
    const { mqtt } = readAppConfig();
    const app = await this.app();
    const routes = await loadRoutes(app, mqtt.sharedGroup);
    if (this.flags.json) this.json(routeListOutput(routes));
    else this.line(formatRouteTable(routes.routes()));
    return 0;
  }
}

/** The JSON form of every route in `routes`, in definition order. */
export function routeListOutput(routes: AppRouteTable): RouteListOutput[] {
  return routes.routes().map((route) => ({
    pattern: route.pattern,
    filter: route.filter,
    subscription: route.subscription,
    qos: route.qos,
    sharedGroup: route.sharedGroup,
    middleware: [...route.middlewareNames],
    handler: route.handlerName,
  }));
}
