/**
 * The lease lengths Topiq accepts, in one place for `QUEUE_LEASE_MS`, `queue:work --lease`
 * and `new Worker({ leaseMs })`.
 */
import { MAX_TIMER_MS } from '../support/timers.js';

/**
 * The shortest lease an operator may set (`QUEUE_LEASE_MS`, `--lease`): the worker renews
 * every third of it, and below a second a busy event loop or a slow round trip lets the
 * lease end before its renewal lands, so another worker runs the job again. `Worker` itself
 * takes any lease above 0, which tests of crash recovery use to stay fast.
 */
export const MIN_LEASE_MS = 1000;

/**
 * The longest lease: Node's longest timer (about 24.8 days). A lease is longer than any
 * job's run only to cover a worker's crash, and a crashed worker's jobs wait that long.
 */
export const MAX_LEASE_MS = MAX_TIMER_MS;
