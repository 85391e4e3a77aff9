/** The built-in message middleware: payload validation, per-device rate limits, request logs. */
export { MemoryRateLimiter, type MemoryRateLimiterOptions } from './memory_rate_limiter.js';
export { type RateLimitOptions, rateLimit } from './rate_limit.js';
export { checkRateLimitSettings, type RateLimiter, type RateLimitResult } from './rate_limiter.js';
export { RedisRateLimiter, rateLimitRedisKey } from './redis_rate_limiter.js';
export { type RequestLoggerOptions, requestLogger } from './request_logger.js';
export {
  bodyOf,
  type SchemaOutput,
  type ValidateOptions,
  validate,
} from './validate.js';
