/**
 * Per-device topic access control. Rules are MQTT topic filters written as templates
 * with a `{deviceId}` placeholder (`devices/{deviceId}/#`), checked once at startup and
 * expanded once per connection. A device may publish to a topic its publish filters
 * match, and subscribe to a filter that its subscribe filters cover entirely.
 */
import { InvalidOptionError } from '../errors.js';

/** Topic filter templates for devices; `{deviceId}` is replaced by the device's id. */
export interface DeviceAclTemplates {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
}

/** What a device may do when no ACL is configured: only its own `devices/<id>/...` tree. */
export const defaultDeviceAcl: DeviceAclTemplates = Object.freeze({
  publish: Object.freeze(['devices/{deviceId}/#']),
  subscribe: Object.freeze(['devices/{deviceId}/#']),
});

const PLACEHOLDER = '{deviceId}';

/** True when `filter` is a well-formed MQTT topic filter (`+` and `#` as whole levels, `#` last). */
export function isValidTopicFilter(filter: string): boolean {
  if (filter.length === 0 || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  return levels.every((level, index) => {
    if (level === '#') return index === levels.length - 1;
    return level === '+' || !/[+#]/.test(level);
  });
}

/**
 * True when every topic matched by `requested` is also matched by `allowed`, using MQTT
 * wildcard semantics: `+` is one level, a trailing `#` is its parent level and all
 * below, and a wildcard at the first level never matches a `$` topic.
 *
 * @example
 * filterCovers('devices/d1/#', 'devices/d1/+/temp'); // true
 * filterCovers('devices/d1/#', 'devices/+/temp');    // false: '+' reaches other devices
 */
export function filterCovers(allowed: string, requested: string): boolean {
  const allowedLevels = allowed.split('/');
  const requestedLevels = requested.split('/');
  const firstAllowed = allowedLevels[0];
  if ((firstAllowed === '+' || firstAllowed === '#') && requested.startsWith('$')) return false;
  for (const [index, level] of allowedLevels.entries()) {
    if (level === '#') return true;
    const wanted = requestedLevels[index];
    if (wanted === undefined || wanted === '#') return false;
    if (level !== '+' && level !== wanted) return false;
  }
  return allowedLevels.length === requestedLevels.length;
}

/**
 * True when the topic name `topic` (no wildcards) is matched by the filter `filter`.
 *
 * @example
 * topicMatchesFilter('devices/d1/temp', 'devices/+/temp'); // true
 */
export function topicMatchesFilter(topic: string, filter: string): boolean {
  return !/[+#]/.test(topic) && filterCovers(filter, topic);
}

/**
 * Puts `deviceId` into every `{deviceId}` of `template`, as it is: not as a replacement
 * pattern, where `$'`, `` $` ``, `$&` and `$$` in an id would expand (`sensor-1$'` into
 * `devices/sensor-1/#/#`, a grant over another device's tree).
 */
export function expandTemplate(template: string, deviceId: string): string {
  return template.split(PLACEHOLDER).join(deviceId);
}

/**
 * Checks templates at startup, throwing `InvalidOptionError` for a malformed filter or
 * a placeholder other than `{deviceId}` (such as a mistyped `{device_id}`).
 */
export function validateAclTemplates(templates: DeviceAclTemplates): void {
  for (const [kind, list] of Object.entries(templates) as [string, readonly string[]][]) {
    for (const template of list) {
      const withoutPlaceholder = template.replaceAll(PLACEHOLDER, 'x');
      const stray = /\{[^}]*\}/.exec(withoutPlaceholder);
      if (stray) {
        throw new InvalidOptionError(
          `acl.${kind}: template ${JSON.stringify(template)} has the placeholder ${stray[0]}; only {deviceId} is known.`,
        );
      }
      if (!isValidTopicFilter(withoutPlaceholder)) {
        throw new InvalidOptionError(
          `acl.${kind}: template ${JSON.stringify(template)} is not a valid MQTT topic filter.`,
        );
      }
    }
  }
}

/** The ACL of one connected device, its templates already expanded. */
export class DeviceTopicRules {
  readonly #publish: readonly string[];
  readonly #subscribe: readonly string[];

  /** `deviceId` must already be valid (see `isValidDeviceId`). */
  constructor(templates: DeviceAclTemplates, deviceId: string) {
    this.#publish = templates.publish.map((template) => expandTemplate(template, deviceId));
    this.#subscribe = templates.subscribe.map((template) => expandTemplate(template, deviceId));
  }

  /** True when the device may publish to the topic name `topic`. */
  canPublish(topic: string): boolean {
    return this.#publish.some((filter) => topicMatchesFilter(topic, filter));
  }

  /** True when the device may subscribe to `filter` (every topic it matches is allowed). */
  canSubscribe(filter: string): boolean {
    return isValidTopicFilter(filter) && this.#subscribe.some((allowed) => filterCovers(allowed, filter));
  }
}
