/**
 * The seam between "which routes does this topic reach" and everything else: a router is
 * two methods, `add` and `match`. Implementations live in their own files
 * (`trie_router.ts`) and all pass the shared contract suite in
 * `tests/unit/routing/router_contract.ts`.
 *
 * Match order, which every implementation must keep: when several routes match a topic,
 * they come back most specific first. Two patterns are compared level by level from the
 * left; at the first level where they differ, a literal level beats a single-level
 * wildcard (`{name}` or `+`), which beats a multi-level wildcard (`{name*}` or `#`). A
 * pattern that ends exactly at the topic's last level beats a `#` that matches that level
 * as its parent. Patterns of the same shape keep the order they were added in.
 */

/**
 * Captured parameters, keyed by param name. Always an object with no `Object.prototype`
 * in its prototype chain (`Object.create(null)` or the like), so nothing is inherited and
 * no topic level (`__proto__`, `constructor`) can reach `Object.prototype`. Param names
 * themselves are checked when a pattern is compiled.
 */
export type RouteParams = Readonly<Record<string, string>>;

/** One route that matched a topic. */
export interface RouteMatch<H, M = undefined> {
  readonly handler: H;
  readonly params: RouteParams;
  /** The pattern the route was added with. */
  readonly pattern: string;
  /** Whatever the caller passed to `add` alongside the handler. */
  readonly meta: M;
}

/**
 * Finds the routes a published topic reaches.
 *
 * @example
 * const router: TopicRouter<string> = new TrieRouter();
 * router.add('devices/{deviceId}/telemetry', 'telemetry');
 * router.match('devices/d1/telemetry'); // [{ handler: 'telemetry', params: { deviceId: 'd1' }, ... }]
 */
export interface TopicRouter<H, M = undefined> {
  /**
   * Adds a route. Throws InvalidRouteError when the pattern is malformed.
   */
  add(pattern: string, handler: H, ...meta: undefined extends M ? [meta?: M] : [meta: M]): void;
  /** Every route the topic matches, in the documented order; empty when none does. */
  match(topic: string): RouteMatch<H, M>[];
}
