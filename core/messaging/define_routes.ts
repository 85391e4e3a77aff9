/** Typing helpers for `app/routes/*.ts` files. */
import type { Application } from '../application.js';
import { RouteTable } from '../routing/route_table.js';
import type { MessageContext } from './message_context.js';
import type { AppRouteTable, MessageHandler } from './message_pipeline.js';

/** What a route file exports as default: it may be async, and is awaited before the server starts. */
export type RouteDefinitions = (routes: AppRouteTable, app: Application) => void | Promise<void>;

/**
 * Declares a route file; the function runs once at start-up with the route table. An async
 * function (one that reads a file before it adds routes) is awaited, files one after another in
 * name order, before the server builds its subscriptions.
 *
 * @example
 * export default defineRoutes((routes) => {
 *   routes.on('devices/{deviceId}/telemetry', [TelemetryController, 'store'], { shared: true });
 * });
 */
export function defineRoutes(definitions: RouteDefinitions): RouteDefinitions {
  return definitions;
}

/** An empty route table for an application. */
export function createRouteTable(sharedGroup = 'topiq'): AppRouteTable {
  return new RouteTable<MessageContext<{}>, MessageHandler>({ sharedGroup });
}
