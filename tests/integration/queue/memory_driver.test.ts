import { MemoryQueueDriver } from '../../../core/index.js';
import { defineDriverContract } from './driver_contract.js';
import { defineWorkerBehaviour } from './worker_behaviour.js';

defineDriverContract(
  'memory',
  (retention, options) => new MemoryQueueDriver({ retention: retention ?? {}, ...options }),
);

// One driver shared by every worker of a test, as one process would.
let shared: MemoryQueueDriver | undefined;
defineWorkerBehaviour('memory', () => {
  shared = new MemoryQueueDriver();
  return shared;
});
