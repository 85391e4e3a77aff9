/**
 * The in-memory queue driver, the zero-setup default when no Redis is configured.
 */
export { defaultMemoryRetention, MemoryQueueDriver, type MemoryQueueDriverOptions } from './memory_driver.js';
