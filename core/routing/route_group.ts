/**
 * The builder that `app/routes/*.ts` files call: `on(pattern, handler, options)` and
 * nested `group({ prefix, middleware }, build)`. A group only carries what its routes
 * inherit (prefix, middleware, QoS, sharing); `RouteTable` collects the routes.
 *
 * The pattern's literal type travels through groups, so a function handler whose
 * context has a `params` field sees exactly the params its full pattern declares, and a
 * controller reference `[Controller, 'method']` must name a method that takes that context.
 */
import { InvalidRouteError } from '../errors.js';
import type { Middleware } from './compose.js';
import { compilePattern, type JoinPattern, joinPattern, type ParamsOf } from './pattern.js';

/** MQTT quality of service. */
export type Qos = 0 | 1 | 2;

/** The handler type a `RouteTable` takes when none is given: a function of the context. */
export type RouteHandler<C> = (ctx: C) => Promise<void> | void;

/** Options of one route; each overrides what the enclosing groups set. */
export interface RouteOptions<C> {
  /** QoS of the route's subscription; 1 unless a group or the table says otherwise. */
  qos?: Qos;
  /**
   * `true` subscribes through the table's default shared group (`$share/topiq/...`), a
   * string through that group, `false` not shared. Not shared unless a group says so.
   */
  shared?: boolean | string;
  /** Run after the groups' middleware, in array order. */
  middleware?: readonly Middleware<C>[];
}

/** Options of a group: what its routes inherit. */
export interface GroupOptions<C, P extends string = ''> extends RouteOptions<C> {
  /** Levels put in front of every pattern in the group, joined with '/'. */
  prefix?: P;
}

/** A route as a group hands it to the table, with everything it inherited resolved. */
export interface RouteDefinition<C, H> {
  readonly pattern: string;
  readonly handler: H;
  readonly qos: Qos | undefined;
  readonly shared: boolean | string | undefined;
  readonly middleware: readonly Middleware<C>[];
}

/** Where a group sends the routes defined in it. */
export type RouteSink<C, H> = (definition: RouteDefinition<C, H>) => void;

/** What a group passes down to its routes and subgroups. */
export interface GroupScope<C> {
  readonly prefix: string;
  readonly middleware: readonly Middleware<C>[];
  readonly qos: Qos | undefined;
  readonly shared: boolean | string | undefined;
}

/**
 * The context a route with full pattern `P` hands its handler: `C` with `params` typed
 * from `P`, when `C` has `params` at all.
 *
 * @example
 * type X = RouteContext<MessageContext<{}>, 'devices/{deviceId}'>; // ctx.params: { deviceId: string }
 */
export type RouteContext<C, P extends string> = C extends { params: unknown }
  ? C & { params: ParamsOf<P> }
  : C;

/**
 * The names of `T`'s methods that can be called with `X` as their only argument: a method
 * declaring fewer or looser params than the route's context qualifies, one expecting params
 * the route does not have (or a second required argument) does not, nor does a property
 * that is not a function.
 *
 * @example
 * class Devices { claim(ctx: MessageContext<{ deviceId: string }>) {} label = 'x'; }
 * type M = MethodsAccepting<Devices, RouteContext<MessageContext<{}>, 'devices/{deviceId}'>>; // 'claim'
 */
export type MethodsAccepting<T, X> = {
  // The declared argument is inferred and X checked against it, one way only: a target written
  // with method syntax (`{ m(ctx: X): unknown }`) would compare parameters bivariantly.
  [K in keyof T]-?: T[K] extends (ctx: infer A) => unknown ? ([X] extends [A] ? K : never) : never;
}[keyof T] &
  string;

/**
 * The method name a controller reference `[new () => T, M]` may give on a route whose handlers
 * get context `X`: `M` itself when it is a method of `T` taking `X`, otherwise the names that
 * are, with a sentence saying why (so the compiler's error names the method). Not checked, and
 * left to the check at boot: a name typed as any string (a reference built at run time, or
 * typed `ControllerReference`), and a controller whose instance type cannot be read from its
 * class (a generic class).
 */
export type CheckedMethod<T, X, M extends string> = string extends M
  ? M
  : object extends T
    ? M
    : M extends MethodsAccepting<T, X>
      ? M
      : MethodsAccepting<T, X> | `${M}: not a method of the controller that takes this route's context`;

/**
 * What `on` accepts for handler type `H` on a route with full pattern `P`, whose handlers get
 * context `X`. A function handler whose context has `params` gets them typed from `P`. A
 * controller reference (`H` includes `readonly [new () => object, string]`) becomes
 * `[new () => T, CheckedMethod<T, X, M>]`, where `on` infers `T` and `M` from the argument. Any
 * other handler (a reference to one fixed method, say) is taken unchanged.
 */
export type TypedHandler<
  H,
  P extends string,
  T extends object = object,
  M extends string = string,
  X = unknown,
> = H extends (ctx: infer Ctx, ...rest: infer A) => infer R
  ? Ctx extends { params: unknown }
    ? (ctx: Ctx & { params: ParamsOf<P> }, ...rest: A) => R
    : H
  : H extends readonly [new () => object, string]
    ? string extends H[1]
      ? readonly [new () => T, CheckedMethod<T, X, M>]
      : H
    : H;

/**
 * A set of routes sharing a prefix, middleware and subscription options.
 *
 * @example
 * routes.group({ prefix: 'devices/{deviceId}', middleware: [auth] }, (group) => {
 *   group.on('status', onStatus); // devices/{deviceId}/status
 *   group.group({ prefix: 'alerts', qos: 2 }, (alerts) => alerts.on('{level}', onAlert));
 * });
 */
export class RouteGroup<C, H, Prefix extends string = ''> {
  readonly #sink: RouteSink<C, H>;
  readonly #scope: GroupScope<C>;

  constructor(sink: RouteSink<C, H>, scope: GroupScope<C>) {
    this.#sink = sink;
    this.#scope = scope;
  }

  /**
   * Adds a route. Inside a group, the pattern is joined to the prefix with '/'; an empty
   * pattern means the prefix itself. A leading '/' is an empty MQTT level, not a no-op.
   * A controller reference must name a method of the controller that takes the route's
   * context ({@link MethodsAccepting}), or the call does not compile.
   *
   * @throws InvalidRouteError when the full pattern or an option is invalid.
   * @example
   * routes.on('devices/{deviceId}/telemetry', storeTelemetry, { qos: 1, shared: true });
   * routes.on('devices/{deviceId}/claimed', [ClaimController, 'claimed']);
   */
  on<P extends string, T extends object = object, M extends string = string>(
    pattern: P,
    handler: TypedHandler<
      H,
      JoinPattern<Prefix, NoInfer<P>>,
      T,
      M,
      RouteContext<C, JoinPattern<Prefix, NoInfer<P>>>
    >,
    // its middleware sees the route's params, as its handler does
    options: RouteOptions<RouteContext<C, JoinPattern<Prefix, NoInfer<P>>>> = {},
  ): this {
    checkOptions(pattern, options);
    this.#sink({
      pattern: joinPattern(this.#scope.prefix, pattern),
      handler: handler as H,
      qos: options.qos ?? this.#scope.qos,
      shared: options.shared ?? this.#scope.shared,
      // the table runs each with the route's context, whose params are those of the pattern
      middleware: [...this.#scope.middleware, ...((options.middleware ?? []) as readonly Middleware<C>[])],
    });
    return this;
  }

  /**
   * Defines routes that share a prefix (joined to this group's own), middleware (run
   * after this group's) and subscription options (overridable per route).
   *
   * @throws InvalidRouteError when the prefix or an option is invalid, or `build` returns a promise.
   * @example
   * routes.group({ prefix: 'devices/{deviceId}', middleware: [auth] }, (group) => {
   *   group.on('status', onStatus);
   * });
   */
  group<P extends string = ''>(
    // its middleware sees the params of its prefix (every route of it has them)
    options: GroupOptions<RouteContext<C, JoinPattern<Prefix, NoInfer<P>>>, P>,
    build: (group: RouteGroup<C, H, JoinPattern<Prefix, P>>) => void,
  ): this {
    const prefix = joinPattern(this.#scope.prefix, options.prefix ?? '');
    checkOptions(prefix, options);
    if (prefix !== '') compilePattern(prefix);
    const built: unknown = build(
      new RouteGroup(this.#sink, {
        prefix,
        middleware: [...this.#scope.middleware, ...((options.middleware ?? []) as readonly Middleware<C>[])],
        qos: options.qos ?? this.#scope.qos,
        shared: options.shared ?? this.#scope.shared,
      }),
    );
    // an async build would add its routes after the table is read (their messages unmatched)
    if (typeof (built as { then?: unknown } | null)?.then === 'function') {
      Promise.resolve(built).catch(() => {}); // refused here: its own failure is not the news
      throw new InvalidRouteError(
        `group ${prefix || '(no prefix)'}: its build function returned a promise; a group is built at once, ` +
          'so its routes must be added before it returns: await what it needs first (in an async route file), then call group()',
      );
    }
    return this;
  }
}

/**
 * Throws InvalidRouteError unless `qos` is 0, 1 or 2 and `shared` names a valid group.
 *
 * @example
 * checkOptions('devices/+', { qos: 1, shared: 'ingest' });
 */
export function checkOptions<C>(pattern: string, options: RouteOptions<C>): void {
  const { qos, shared, middleware } = options;
  if (qos !== undefined && qos !== 0 && qos !== 1 && qos !== 2) {
    throw new InvalidRouteError(
      `Route ${JSON.stringify(pattern)}: qos must be 0, 1 or 2, got ${String(qos)}.`,
    );
  }
  if (typeof shared === 'string') checkSharedGroup(shared, `Route ${JSON.stringify(pattern)}`);
  else if (shared !== undefined && typeof shared !== 'boolean') {
    throw new InvalidRouteError(
      `Route ${JSON.stringify(pattern)}: shared must be true, false or a group name.`,
    );
  }
  if (middleware !== undefined && !middleware.every((step) => typeof step === 'function')) {
    throw new InvalidRouteError(`Route ${JSON.stringify(pattern)}: every middleware must be a function.`);
  }
}

/**
 * Throws InvalidRouteError unless `name` can be an MQTT shared subscription group.
 *
 * @example
 * checkSharedGroup('ingest', 'RouteTable'); // passes
 */
export function checkSharedGroup(name: string, where: string): void {
  if (name === '' || /[/+#]/.test(name) || name.includes('\u0000')) {
    throw new InvalidRouteError(
      `${where}: the shared group name ${JSON.stringify(name)} must be non-empty and may not contain '/', '+' or '#'.`,
    );
  }
}
