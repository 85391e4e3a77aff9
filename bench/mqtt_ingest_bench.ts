/**
 * End-to-end ingest through a real Mosquitto: a publisher sends N QoS 1 messages, an
 * MqttConnection consumes them with a consumer that batches every pending message into
 * one simulated 1 ms "Redis write" and resolves the batch afterwards. Deferred, ordered
 * PUBACKs let one write cover many messages; `maxInFlight: 1` shows the old one
 * round trip per message behaviour for comparison. Reports msgs/s, batch sizes and how
 * many messages never arrived (Mosquitto drops past its per-client queue limit).
 *
 * Run: `node --import tsx bench/mqtt_ingest_bench.ts` (Mosquitto on 127.0.0.1:1883).
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { connectAsync } from 'mqtt';
import { MqttConnection, type MqttMessage } from '../core/mqtt/index.js';

export interface MqttIngestBenchOptions {
  /** Messages to publish. Default 20 000. */
  messages?: number;
  url?: string;
  protocolVersion?: 4 | 5;
  /** The connection's maxInFlight (1 = acknowledge each message after its own write). Default 1000. */
  maxInFlight?: number;
  /** Duration of one simulated Redis round trip. Default 1 ms. */
  writeMs?: number;
  /** Most publishes the publisher keeps unacknowledged. Default 1000. */
  publishWindow?: number;
  /** Give up waiting for stragglers after this long without progress. Default 3000 ms. */
  idleTimeoutMs?: number;
  /** `mqtt.js auto-ack` measures plain mqtt.js acknowledging at once with no write: the ceiling. */
  subscriber?: 'topiq' | 'mqtt.js auto-ack';
}

export interface MqttIngestBenchResult {
  label: string;
  messages: number;
  received: number;
  lost: number;
  duplicates: number;
  seconds: number;
  messagesPerSecond: number;
  writes: number;
  meanBatch: number;
  largestBatch: number;
  /** Share of the run the subscriber's event loop was busy (1 = CPU-bound). */
  subscriberLoopUtilization: number;
}

// Runs in a worker thread, so publishing does not compete with the consumer's event loop.
const publisherSource = `
const { workerData, parentPort } = require('node:worker_threads');
const { connect } = require(workerData.mqttPath);
const { url, protocolVersion, topic, messages, publishWindow } = workerData;
const client = connect(url, { protocolVersion, reconnectPeriod: 0 });
client.on('error', (error) => { throw error; });
client.on('connect', () => {
  let next = 0;
  let outstanding = 0;
  const pump = () => {
    while (outstanding < publishWindow && next < messages) {
      const payload = Buffer.alloc(64);
      payload.writeUInt32BE(next, 0);
      next += 1;
      outstanding += 1;
      client.publish(topic, payload, { qos: 1 }, (error) => {
        if (error) throw error;
        outstanding -= 1;
        if (next === messages && outstanding === 0) client.end(() => parentPort.postMessage('done'));
        else pump();
      });
    }
  };
  pump();
});
`;

function publishInWorker(job: {
  url: string;
  protocolVersion: 4 | 5;
  topic: string;
  messages: number;
  publishWindow: number;
}): Promise<void> {
  const mqttPath = createRequire(import.meta.url).resolve('mqtt');
  const worker = new Worker(publisherSource, { eval: true, workerData: { ...job, mqttPath } });
  return new Promise((resolve, reject) => {
    worker.once('message', () => void worker.terminate().then(() => resolve(), reject));
    worker.once('error', reject);
  });
}

/** A consumer that writes whatever is pending in one simulated round trip, then the next batch. */
function batchingConsumer(writeMs: number) {
  let pending: Array<() => void> = [];
  let writing = false;
  const stats = { writes: 0, largestBatch: 0 };
  const flush = (): void => {
    if (writing || pending.length === 0) return;
    writing = true;
    const batch = pending;
    pending = [];
    stats.writes += 1;
    stats.largestBatch = Math.max(stats.largestBatch, batch.length);
    setTimeout(() => {
      writing = false;
      for (const resolve of batch) resolve();
      flush();
    }, writeMs);
  };
  const consume = (): Promise<void> =>
    new Promise((resolve) => {
      pending.push(resolve);
      // Let the rest of this socket read reach the batch before writing it.
      if (pending.length === 1) setImmediate(flush);
    });
  return { consume, stats };
}

interface BenchSubscriber {
  inFlight(): number;
  close(): Promise<void>;
}

/** The subscriber under test: Topiq's connection with a batching consumer, or plain mqtt.js. */
async function startSubscriber(
  options: Required<MqttIngestBenchOptions>,
  topic: string,
  clientId: string,
  onArrival: (message: MqttMessage | Buffer) => void,
  consume: () => Promise<void>,
): Promise<BenchSubscriber> {
  const { url, protocolVersion, maxInFlight } = options;
  if (options.subscriber === 'mqtt.js auto-ack') {
    const client = await connectAsync(url, {
      clientId,
      protocolVersion,
      properties: protocolVersion === 5 ? { receiveMaximum: maxInFlight } : undefined,
    });
    client.on('message', (_topic, payload) => onArrival(payload));
    await client.subscribeAsync(topic, { qos: 1 });
    return { inFlight: () => 0, close: () => client.endAsync() };
  }
  const connection = new MqttConnection({
    url,
    clientId,
    protocolVersion,
    maxInFlight,
    onMessage: (message) => {
      onArrival(message);
      return consume();
    },
  });
  await connection.connect();
  await connection.subscribe([{ filter: topic, qos: 1 }]);
  return {
    inFlight: () => connection.inFlight,
    close: async () => {
      await connection.close();
      const cleaner = await connectAsync(url, {
        clientId,
        clean: true,
        protocolVersion,
        properties: protocolVersion === 5 ? { sessionExpiryInterval: 0 } : undefined,
      });
      await cleaner.endAsync();
    },
  };
}

/**
 * Publishes `messages` QoS 1 messages through Mosquitto to a batching consumer and measures.
 *
 * @example
 * const result = await runMqttIngestBench({ messages: 10_000 });
 * console.log(result.messagesPerSecond, result.lost);
 */
export async function runMqttIngestBench(
  options: MqttIngestBenchOptions = {},
): Promise<MqttIngestBenchResult> {
  const settings: Required<MqttIngestBenchOptions> = {
    messages: 20_000,
    url: 'mqtt://127.0.0.1:1883',
    protocolVersion: 5,
    maxInFlight: 1000,
    writeMs: 1,
    publishWindow: 1000,
    idleTimeoutMs: 3000,
    subscriber: 'topiq',
    ...options,
  };
  const { messages, url, protocolVersion, maxInFlight, publishWindow, idleTimeoutMs } = settings;
  const id = randomUUID().slice(0, 8);
  const topic = `topiq-bench/${id}/ingest`;
  const clientId = `topiq-bench-${id}`;
  const seen = new Uint8Array(messages);
  let received = 0;
  let duplicates = 0;
  let lastArrival = process.hrtime.bigint();
  const onArrival = (message: MqttMessage | Buffer): void => {
    const index = (Buffer.isBuffer(message) ? message : message.payload).readUInt32BE(0);
    if (seen[index] === 1) duplicates += 1;
    else received += 1;
    seen[index] = 1;
    lastArrival = process.hrtime.bigint();
  };
  const { consume, stats } = batchingConsumer(settings.writeMs);
  const subscriber = await startSubscriber(settings, topic, clientId, onArrival, consume);

  const loopBefore = performance.eventLoopUtilization();
  const started = process.hrtime.bigint();
  await publishInWorker({ url, protocolVersion, topic, messages, publishWindow });
  const idleSince = (): number => Number(process.hrtime.bigint() - lastArrival) / 1e6;
  while ((received < messages || subscriber.inFlight() > 0) && idleSince() < idleTimeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const seconds = Number(lastArrival - started) / 1e9;
  const loop = performance.eventLoopUtilization(loopBefore);
  await subscriber.close();

  const version = protocolVersion === 5 ? 'v5' : 'v3.1.1';
  const label =
    settings.subscriber === 'topiq'
      ? `${version} topiq maxInFlight=${maxInFlight} window=${publishWindow}`
      : `${version} mqtt.js auto-ack, no write`;
  return {
    label,
    messages,
    received,
    lost: messages - received,
    duplicates,
    seconds,
    messagesPerSecond: received / seconds,
    writes: stats.writes,
    meanBatch: stats.writes === 0 ? 0 : received / stats.writes,
    largestBatch: stats.largestBatch,
    subscriberLoopUtilization: loop.utilization,
  };
}

async function main(): Promise<void> {
  const runs: MqttIngestBenchOptions[] = [
    { messages: 50_000, subscriber: 'mqtt.js auto-ack' },
    { messages: 50_000, maxInFlight: 1000 },
    { messages: 50_000, maxInFlight: 1000, publishWindow: 100 },
    { messages: 50_000, maxInFlight: 100 },
    { messages: 50_000, maxInFlight: 1000, protocolVersion: 4 },
    { messages: 2_000, maxInFlight: 1 },
  ];
  for (const run of runs) {
    const result = await runMqttIngestBench(run);
    console.log(
      `${result.label.padEnd(44)} ${String(result.received).padStart(6)}/${result.messages}  ` +
        `${result.messagesPerSecond.toFixed(0).padStart(6)} msg/s  lost ${result.lost}  dup ${result.duplicates}  ` +
        `writes ${result.writes}, mean batch ${result.meanBatch.toFixed(1)}, largest ${result.largestBatch}  ` +
        `loop busy ${(result.subscriberLoopUtilization * 100).toFixed(0)}%`,
    );
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
