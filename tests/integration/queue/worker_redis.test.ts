import { RedisQueueDriver } from '../../../core/index.js';
import { defineWorkerBehaviour } from './worker_behaviour.js';

defineWorkerBehaviour(
  'redis',
  () => new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: 'topiq-test' }),
);
