/**
 * Topic routing: patterns with named params, a trie router, the route table that
 * `app/routes/*.ts` files fill, and middleware composition.
 */
export { type ComposeOptions, compose, type FinalHandler, type Middleware } from './compose.js';
export { formatRouteTable, type RouteSummary } from './format_route_table.js';
export {
  type CompiledPattern,
  compilePattern,
  type JoinPattern,
  joinPattern,
  type ParamsOf,
  type PatternLevel,
} from './pattern.js';
export {
  type GroupOptions,
  type MethodsAccepting,
  type Qos,
  type RouteContext,
  RouteGroup,
  type RouteHandler,
  type RouteOptions,
  type TypedHandler,
} from './route_group.js';
export {
  describeHandler,
  type RouteRecord,
  RouteTable,
  type RouteTableOptions,
  type Subscription,
} from './route_table.js';
export type { RouteMatch, RouteParams, TopicRouter } from './router.js';
export { TrieRouter } from './trie_router.js';
