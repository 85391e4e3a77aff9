/**
 * Holds back the reply of the reserve call that leases job `id`, as a slow network would: the
 * job is leased (`running`) in the store, and its worker does not know yet.
 */
import type { QueueDriver } from '../../core/index.js';

export interface HeldReserve {
  /** Resolves once a reserve call has leased the job. */
  readonly leased: Promise<void>;
  /** Lets that call's reply through. */
  answer(): void;
}

export function holdReserveOf(driver: QueueDriver, id: string): HeldReserve {
  const reserve = driver.reserve.bind(driver);
  let leasedNow!: () => void;
  const leased = new Promise<void>((resolve) => (leasedNow = resolve));
  let answer!: () => void;
  const answered = new Promise<void>((resolve) => (answer = resolve));
  driver.reserve = async (queue, options) => {
    const result = await reserve(queue, options);
    if (result.jobs.some((job) => job.id === id)) {
      leasedNow();
      await answered;
    }
    return result;
  };
  return { leased, answer };
}
