/**
 * The application's routes in one place: what to subscribe to, and which handler and
 * middleware each topic reaches. Routes are validated when they are defined, so a bad
 * pattern fails at boot with the line that wrote it.
 */
import type { Middleware } from './compose.js';
import { compilePattern } from './pattern.js';
import {
  checkOptions,
  checkSharedGroup,
  type Qos,
  type RouteDefinition,
  RouteGroup,
  type RouteHandler,
} from './route_group.js';
import type { TopicRouter } from './router.js';
import { TrieRouter } from './trie_router.js';

/** One compiled route, as `routes()` lists it. */
export interface RouteRecord<C, H> {
  /** The full pattern, group prefixes included. */
  readonly pattern: string;
  readonly paramNames: readonly string[];
  /** The MQTT topic filter, e.g. `devices/+/telemetry`. */
  readonly filter: string;
  /** What to subscribe to: the filter, behind `$share/<group>/` when shared. */
  readonly subscription: string;
  readonly qos: Qos;
  /** The shared subscription group, or null when not shared. */
  readonly sharedGroup: string | null;
  /** Groups' middleware first (outer to inner), then the route's own. */
  readonly middleware: readonly Middleware<C>[];
  readonly middlewareNames: readonly string[];
  readonly handler: H;
  readonly handlerName: string;
}

/** One subscription the MQTT client should make. */
export interface Subscription {
  /** The topic filter, with its `$share/<group>/` prefix when shared. */
  readonly filter: string;
  readonly qos: Qos;
}

/** Settings of a route table. */
export interface RouteTableOptions<H> {
  /** The group `shared: true` routes subscribe through. Default `'topiq'`. */
  sharedGroup?: string;
  /** QoS of routes that set none. Default 1. */
  defaultQos?: Qos;
  /** How `routes()` names a handler. Default {@link describeHandler}. */
  describeHandler?: (handler: H) => string;
}

/**
 * The routes of an application, defined with `on` and `group` (see {@link RouteGroup}).
 *
 * @example
 * const routes = new RouteTable<MessageContext>({ sharedGroup: 'ingest' });
 * routes.on('devices/{deviceId}/telemetry', storeTelemetry, { shared: true });
 * routes.group({ prefix: 'devices/{deviceId}', middleware: [auth] }, (group) => {
 *   group.on('status', updateStatus, { qos: 2 });
 * });
 * routes.subscriptions(); // [{ filter: '$share/ingest/devices/+/telemetry', qos: 1 }, ...]
 * const router = routes.buildRouter();
 */
export class RouteTable<C, H = RouteHandler<C>> extends RouteGroup<C, H, ''> {
  readonly #records: RouteRecord<C, H>[];

  constructor(options: RouteTableOptions<H> = {}) {
    const records: RouteRecord<C, H>[] = [];
    const sharedGroup = options.sharedGroup ?? 'topiq';
    checkSharedGroup(sharedGroup, 'RouteTable');
    const defaultQos = options.defaultQos ?? 1;
    checkOptions('(table default)', { qos: defaultQos });
    const describe = options.describeHandler ?? describeHandler;
    super((definition) => records.push(toRecord(definition, sharedGroup, defaultQos, describe)), {
      prefix: '',
      middleware: [],
      qos: undefined,
      shared: undefined,
    });
    this.#records = records;
  }

  /**
   * Every route in the order it was defined.
   *
   * @example
   * for (const route of routes.routes()) console.log(route.pattern, route.subscription);
   */
  routes(): RouteRecord<C, H>[] {
    return [...this.#records];
  }

  /**
   * What to subscribe to: one entry per distinct subscription, in order of first use,
   * with the highest QoS any of its routes asked for.
   *
   * @example
   * const map = Object.fromEntries(routes.subscriptions().map(({ filter, qos }) => [filter, { qos }]));
   * await client.subscribeAsync(map); // mqtt.js
   */
  subscriptions(): Subscription[] {
    const byFilter = new Map<string, Qos>();
    for (const record of this.#records) {
      const qos = byFilter.get(record.subscription);
      if (qos === undefined || record.qos > qos) byFilter.set(record.subscription, record.qos);
    }
    return [...byFilter].map(([filter, qos]) => ({ filter, qos }));
  }

  /**
   * A router over the routes defined so far; each match carries its route record as
   * `meta`. Routes defined later are not in it.
   *
   * @example
   * for (const { meta: route, params } of routes.buildRouter().match(topic)) {
   *   await compose(route.middleware, (ctx) => invoke(route.handler, ctx))({ topic, params });
   * }
   */
  buildRouter(
    createRouter: () => TopicRouter<H, RouteRecord<C, H>> = () => new TrieRouter<H, RouteRecord<C, H>>(),
  ): TopicRouter<H, RouteRecord<C, H>> {
    const router = createRouter();
    for (const record of this.#records) router.add(record.pattern, record.handler, record);
    return router;
  }
}

function toRecord<C, H>(
  definition: RouteDefinition<C, H>,
  defaultSharedGroup: string,
  defaultQos: Qos,
  describe: (handler: H) => string,
): RouteRecord<C, H> {
  const compiled = compilePattern(definition.pattern);
  const { shared } = definition;
  const sharedGroup = shared === true ? defaultSharedGroup : typeof shared === 'string' ? shared : null;
  return {
    pattern: compiled.pattern,
    paramNames: compiled.paramNames,
    filter: compiled.filter,
    subscription: sharedGroup === null ? compiled.filter : `$share/${sharedGroup}/${compiled.filter}`,
    qos: definition.qos ?? defaultQos,
    sharedGroup,
    middleware: definition.middleware,
    middlewareNames: definition.middleware.map((step) => step.name || '<anonymous>'),
    handler: definition.handler,
    handlerName: describe(definition.handler),
  };
}

/**
 * Names a handler for route listings: a function by its name, a controller reference
 * `[DevicesController, 'store']` as `DevicesController.store`, a string as itself.
 *
 * @example
 * describeHandler([DevicesController, 'store']); // 'DevicesController.store'
 */
export function describeHandler(handler: unknown): string {
  if (typeof handler === 'function') return handler.name || '<anonymous>';
  if (typeof handler === 'string') return handler;
  if (Array.isArray(handler) && handler.length === 2 && typeof handler[1] === 'string') {
    const [target, method] = handler as [unknown, string];
    const owner =
      typeof target === 'function'
        ? target.name
        : typeof target === 'object' && target !== null
          ? target.constructor?.name
          : undefined;
    return `${owner || '<anonymous>'}.${method}`;
  }
  return `<${typeof handler}>`;
}
