import { RedisQueueDriver } from '../../../core/queue/drivers/redis/redis_driver.js';
import { defineDriverContract } from './driver_contract.js';

defineDriverContract(
  'redis',
  (retention) =>
    new RedisQueueDriver({
      connection: 'redis://127.0.0.1:6379',
      prefix: 'topiq-test',
      retention: retention ?? {},
    }),
);
