/**
 * Renders route records as a plain-text table, for `topiq route:list`. Pure: it takes
 * the records and returns the text, so the command decides where it goes.
 */
import type { Qos } from './route_group.js';

/** The fields of a route record the listing shows. */
export interface RouteSummary {
  readonly pattern: string;
  readonly subscription: string;
  readonly qos: Qos;
  readonly sharedGroup: string | null;
  readonly middlewareNames: readonly string[];
  readonly handlerName: string;
}

const HEADERS = ['Pattern', 'Subscription', 'QoS', 'Shared', 'Middleware', 'Handler'] as const;

/**
 * One line per route under a header, columns padded to the widest cell; `-` marks an
 * empty cell.
 *
 * @example
 * console.log(formatRouteTable(routes.routes()));
 * // Pattern                       Subscription                      QoS  Shared  Middleware  Handler
 * // ----------------------------  --------------------------------  ---  ------  ----------  -------------------------
 * // devices/{deviceId}/telemetry  $share/topiq/devices/+/telemetry  1    topiq   auth        TelemetryController.store
 * // devices/{deviceId}/status     devices/+/status                  2    -       -           updateStatus
 */
export function formatRouteTable(records: readonly RouteSummary[]): string {
  if (records.length === 0) return 'No routes defined.';
  const rows = records.map((record) => [
    record.pattern,
    record.subscription,
    String(record.qos),
    record.sharedGroup ?? '-',
    record.middlewareNames.length > 0 ? record.middlewareNames.join(', ') : '-',
    record.handlerName,
  ]);
  const widths = HEADERS.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return [line(HEADERS), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}
