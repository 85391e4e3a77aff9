/**
 * Publishes every job status change on MQTT, so devices, dashboards and other services
 * can follow a job: topic from a template such as `topiq/jobs/{queue}/{id}/{status}`,
 * payload the event as JSON (id, name, queue, status, attempt, at, and result, error or
 * runAt when they apply). Progress reports of running jobs go out the same way, with
 * `progress` in place of the status (`topiq/jobs/emails/<id>/progress`) and a payload of
 * `kind: "progress"`, `progress`, `progressMessage` and `progressData`. Events come from every process
 * sharing the Redis.
 */
import type { Application } from '../application.js';
import type { Logger } from '../logger.js';
import { type JobStreamEvent, streamEventLabel } from '../queue/driver.js';
import { hasValidNames } from '../queue/names.js';
import { sampledFailures } from '../support/sampled_failures.js';
import type { Publisher } from './inbound_message.js';
import { topicNameProblem } from '../mqtt/topic_name.js';

/** The placeholders of a job event topic template. */
const PLACEHOLDERS = /\{(queue|id|status|name)\}/g;
const PLACEHOLDER_ALONE = new RegExp(`^${PLACEHOLDERS.source}$`);

/** Fills `{queue}`, `{id}`, `{status}` (`progress` for a progress report) and `{name}` in a topic template. */
export function jobEventTopic(template: string, event: JobStreamEvent): string {
  const status = streamEventLabel(event);
  return template.replace(PLACEHOLDERS, (_match, field: 'queue' | 'id' | 'status' | 'name') =>
    field === 'status' ? status : event[field],
  );
}

/**
 * What makes `template` no job event topic template (`JOB_EVENTS_TOPIC`), or undefined when it
 * is one: a leading `$`, a brace that is no placeholder, or a topic name problem once filled.
 */
export function eventTopicProblem(template: string): string | undefined {
  if (template.startsWith('$')) return 'it may not start with $ (broker topics)';
  // every brace, read in the template as written: a placeholder, or a slip to name
  const unknown = template.match(/\{[^{}]*\}?|\}/g)?.find((token) => !PLACEHOLDER_ALONE.test(token));
  if (unknown !== undefined) {
    return `${JSON.stringify(unknown)} is no placeholder; use {queue}, {id}, {status} and {name}`;
  }
  return topicNameProblem(template.replace(PLACEHOLDERS, 'x'));
}

/**
 * Whether some topic `template` (a job event topic template) can name is matched by `filter`
 * (an MQTT topic filter, without its `$share/<group>/` prefix). A placeholder stands for any
 * text without a `/` (the names and statuses that fill it never hold one).
 *
 * @example
 * eventTopicMayMatch('topiq/jobs/{id}', 'topiq/jobs/+'); // true
 * eventTopicMayMatch('topiq/jobs/{queue}/{id}/{status}', 'devices/+/status'); // false
 */
export function eventTopicMayMatch(template: string, filter: string): boolean {
  const levels = template.split('/');
  const filterLevels = filter.split('/');
  for (const [index, level] of filterLevels.entries()) {
    if (level === '#') return true; // '#' also matches the level above it
    const templateLevel = levels[index];
    if (templateLevel === undefined) return false;
    if (level !== '+' && !levelPattern(templateLevel).test(level)) return false;
  }
  return levels.length === filterLevels.length;
}

/** A template level as a pattern: its text as written, each placeholder any text but `/`. */
function levelPattern(level: string): RegExp {
  const parts = level.split(PLACEHOLDERS_SPLIT).map((part, index) =>
    // split with a capture group: odd parts are the placeholders' field names
    index % 2 === 1 ? '[^/]*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
  );
  return new RegExp(`^${parts.join('')}$`);
}

const PLACEHOLDERS_SPLIT = /\{(queue|id|status|name)\}/;

/**
 * Starts forwarding job events, and progress reports unless `options.progress` is false, to
 * MQTT; resolves to a function that stops it.
 *
 * @example
 * const stop = await bridgeJobEvents(app, gateway.publish, 'topiq/jobs/{queue}/{id}/{status}', log);
 */
export async function bridgeJobEvents(
  app: Application,
  publish: Publisher,
  template: string,
  log: Logger,
  options: { progress?: boolean } = {},
): Promise<() => Promise<void>> {
  const failed = sampledFailures();
  const forged = sampledFailures();
  const forward = (event: JobStreamEvent): void => {
    // Topiq's own events always pass; one forged on the Redis channel with a `/`, `+` or `#`
    // in its id or queue would otherwise publish on a topic of its choosing
    if (!hasValidNames(event)) {
      const failures = forged();
      if (failures !== undefined) {
        log.warn(
          { event: 'job_events.invalid_names', failures },
          'dropped a job event whose queue, id or job name no Topiq job can have (forged on the Redis channel?)',
        );
      }
      return;
    }
    publish(jobEventTopic(template, event), JSON.stringify(event), { qos: 0 }).catch((error: unknown) => {
      const failures = failed();
      if (failures !== undefined) {
        log.warn(
          { event: 'job_events.publish_failed', err: error, failures },
          'could not publish job event on MQTT',
        );
      }
    });
  };
  return app.onJobEvent(options.progress === false ? forward : { status: forward, progress: forward });
}
