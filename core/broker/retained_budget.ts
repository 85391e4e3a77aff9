/**
 * Bounds what each device may keep retained on the embedded broker. A retained message is
 * stored until someone clears it (an empty retained publish to its topic), and a device may
 * publish under every topic of its ACL (`devices/<id>/#`), so without a bound one device could
 * fill the app's memory with retained messages on topics it makes up. Each device may keep
 * at most `maxTopics` retained topics holding `maxBytes` of payload in all; a retained
 * publish beyond that is still delivered and routed, but not retained.
 *
 * Services (the app, operators) are not counted. A topic belongs to the last account that
 * retained a message on it, and frees its place in that account's budget when it is cleared
 * or retained over by anyone. The count covers what was retained since the broker started:
 * with aedes's default in-memory persistence, that is all of it.
 */

/** The defaults of {@link RetainedBudget}. */
export const DEFAULT_RETAINED_LIMITS = { maxTopics: 32, maxBytes: 65_536 } as const;

export interface RetainedLimits {
  /** Retained topics one device may hold (0: none). */
  readonly maxTopics: number;
  /** Bytes of retained payload one device may hold, over all its topics. */
  readonly maxBytes: number;
}

interface Usage {
  topics: number;
  bytes: number;
}

/** Why a retained publish was not kept, for the log. */
export type RetainRefusal =
  | { reason: 'topics'; limit: number }
  | { reason: 'bytes'; limit: number; held: number };

export class RetainedBudget {
  readonly #limits: RetainedLimits;
  /** The device account and payload size of each retained topic a device holds. */
  readonly #owners = new Map<string, { account: string; bytes: number }>();
  readonly #usage = new Map<string, Usage>();

  constructor(limits: RetainedLimits = DEFAULT_RETAINED_LIMITS) {
    this.#limits = limits;
  }

  /**
   * Records a retained publish of `bytes` on `topic` by `account` (`undefined` for a service)
   * and says whether it may be retained; `undefined` when it may, the reason when not. An
   * empty payload clears the topic and is always allowed.
   */
  retain(account: string | undefined, topic: string, bytes: number): RetainRefusal | undefined {
    const previous = this.#owners.get(topic);
    // a device's retained message counts; a service's, or an empty one (a clear), does not
    const counted = account !== undefined && bytes > 0 ? account : undefined;
    if (counted !== undefined) {
      const usage = this.usage(counted);
      // the message it replaces on this topic, if this account holds it, makes room
      const same = previous?.account === counted ? previous : undefined;
      const held = usage.bytes - (same?.bytes ?? 0);
      if (usage.topics + (same ? 0 : 1) > this.#limits.maxTopics) {
        return { reason: 'topics', limit: this.#limits.maxTopics };
      }
      if (held + bytes > this.#limits.maxBytes)
        return { reason: 'bytes', limit: this.#limits.maxBytes, held };
    }
    if (previous) this.#release(topic, previous);
    if (counted !== undefined) {
      this.#owners.set(topic, { account: counted, bytes });
      const usage = this.#usage.get(counted) ?? { topics: 0, bytes: 0 };
      usage.topics += 1;
      usage.bytes += bytes;
      this.#usage.set(counted, usage);
    }
    return undefined;
  }

  /** What `account` holds now. */
  usage(account: string): Usage {
    const usage = this.#usage.get(account);
    return { topics: usage?.topics ?? 0, bytes: usage?.bytes ?? 0 };
  }

  #release(topic: string, owner: { account: string; bytes: number }): void {
    this.#owners.delete(topic);
    const usage = this.#usage.get(owner.account);
    if (!usage) return;
    usage.topics -= 1;
    usage.bytes -= owner.bytes;
    if (usage.topics <= 0) this.#usage.delete(owner.account);
  }
}
