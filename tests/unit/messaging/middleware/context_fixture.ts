/** A real MessageContext over fake services, for middleware tests. */
import type { Logger } from '../../../../core/logger.js';
import { silentLogger } from '../../../../core/logger.js';
import type { InboundMessage } from '../../../../core/messaging/inbound_message.js';
import { type ContextServices, MessageContext } from '../../../../core/messaging/message_context.js';
import { MemoryStateStore } from '../../../../core/messaging/state_store.js';
import type { RouteParams } from '../../../../core/routing/router.js';

export interface ContextOptions {
  topic?: string;
  payload?: string | Buffer;
  params?: RouteParams;
  route?: string;
  deviceId?: string;
  clientId?: string;
  qos?: 0 | 1 | 2;
  log?: Logger;
}

export function makeContext(options: ContextOptions = {}): MessageContext<any> {
  const payload = options.payload ?? '{}';
  const message: InboundMessage = {
    topic: options.topic ?? 'devices/d1/telemetry',
    payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8'),
    qos: options.qos ?? 1,
    retain: false,
    dup: false,
    properties: {},
    ...(options.clientId === undefined ? {} : { clientId: options.clientId }),
    ...(options.deviceId === undefined ? {} : { deviceId: options.deviceId }),
  };
  const services: ContextServices = {
    dispatch: async () => ({ id: 'job-1', outcome: 'queued' }),
    publish: async () => {},
    state: new MemoryStateStore(),
    log: options.log ?? silentLogger(),
  };
  const params = Object.assign(Object.create(null), options.params ?? { deviceId: 'd1' }) as RouteParams;
  return new MessageContext(message, params, options.route ?? 'devices/{deviceId}/telemetry', services);
}

/** A `next` that records whether it ran. */
export function recordingNext(): { next: () => Promise<void>; calls: number } {
  const state = {
    calls: 0,
    next: async () => {
      state.calls++;
    },
  };
  return state;
}
