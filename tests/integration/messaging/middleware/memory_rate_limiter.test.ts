import { MemoryRateLimiter } from '../../../../core/messaging/middleware/index.js';
import { defineRateLimiterContract } from './rate_limiter_contract.js';

const limiter = new MemoryRateLimiter();
defineRateLimiterContract('Memory', () => limiter);
