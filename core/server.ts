/**
 * A running IoT backend: the application's routes behind the MQTT gateway (embedded
 * broker or external broker), optionally with queue workers in the same process.
 * `npx topiq serve` builds one; tests build their own with a free port.
 */
import type { Application } from './application.js';
import type { MqttSettings } from './config/settings.js';
import { addJobCommandRoute } from './messaging/job_command_route.js';
import { bridgeJobEvents, eventTopicMayMatch } from './messaging/job_event_bridge.js';
import { type AppRouteTable, MessagePipeline } from './messaging/message_pipeline.js';
import type { MessageContext } from './messaging/message_context.js';
import { brokerAccountsProblem, MqttGateway } from './messaging/mqtt_gateway.js';
import { stateSubscriptionMemory } from './messaging/subscription_memory.js';
import { parseQueueList } from './queue/names.js';
import { retryUntilDone } from './support/retry.js';
import { withDeadline } from './support/timers.js';
import type { Worker, WorkerOptions } from './queue/worker.js';
import type { Middleware } from './routing/compose.js';
import { durableDriverProblem } from './config/durable_driver.js';
import { InvalidConfigError } from './errors.js';

/** What a server is built from. */
export interface ServerOptions {
  app: Application;
  mqtt: MqttSettings;
  routes: AppRouteTable;
  /** Middleware run for every message. */
  middleware?: readonly Middleware<MessageContext<any>>[];
}

/** Workers to run in the server's process (`serve --workers`). */
export interface InProcessWorkers extends Omit<WorkerOptions, 'driver' | 'registry' | 'queues'> {
  /** Comma-separated queues in strict order, e.g. `high,default`, served by one worker. */
  queues: string;
}

/**
 * Routes MQTT messages to handlers and runs workers.
 *
 * @example
 * const server = new Server({ app, mqtt: mqttConfig.read(process.env), routes });
 * await server.start({ workers: { queues: 'telemetry,emails', concurrency: 10 } });
 */
export class Server {
  readonly app: Application;
  readonly pipeline: MessagePipeline;
  readonly gateway: MqttGateway;
  readonly workers: Worker[] = [];
  readonly #mqtt: MqttSettings;
  #stopEvents: (() => Promise<void>) | undefined;
  #stopping = false;

  constructor(options: ServerOptions) {
    this.app = options.app;
    this.#mqtt = options.mqtt;
    if (options.mqtt.jobCommandTopic) {
      addJobCommandRoute(options.routes, options.mqtt.jobCommandTopic, options.app.dispatcher, {
        replyTopic: options.mqtt.jobCommandReplyTopic,
      });
    }
    assertEventsReachNoRoute(options.mqtt, options.routes);
    this.gateway = new MqttGateway({
      settings: { ...options.mqtt, sharedGroup: options.mqtt.sharedGroup },
      subscriptions: options.routes.subscriptions(),
      log: options.app.log,
      subscriptionMemory: stateSubscriptionMemory(options.app.state, options.mqtt.clientId),
    });
    this.pipeline = new MessagePipeline({
      routes: options.routes,
      dispatcher: options.app.dispatcher,
      deadLetters: options.app.deadLetters,
      state: options.app.state,
      publish: this.gateway.publish,
      log: options.app.log,
      ...(options.middleware ? { middleware: options.middleware } : {}),
      ...(options.mqtt.jobCommandReplyTopic ? { replyTopic: options.mqtt.jobCommandReplyTopic } : {}),
      ...(options.mqtt.handlerTimeoutMs === undefined
        ? {}
        : { handlerTimeoutMs: options.mqtt.handlerTimeoutMs }),
    });
  }

  /** Starts the MQTT side, then the workers. */
  async start(options: { workers?: InProcessWorkers } = {}): Promise<void> {
    // messages acknowledged into a store that ends with the process: refused in production; and
    // an embedded broker without the accounts it requires. Both at once, fixed in one pass.
    const problems = [
      durableDriverProblem(this.app.settings.queue),
      brokerAccountsProblem(this.#mqtt),
    ].filter((problem) => problem !== undefined);
    if (problems.length > 0) throw new InvalidConfigError(problems.join('; '));
    await this.gateway.start((message) => this.pipeline.handle(message));
    if (this.#stopping) {
      // stopped while starting: what the start opened after stop() looked is closed now
      await this.gateway.stop();
      return;
    }
    if (this.#mqtt.jobEventsTopic && this.app.events.enabled) {
      await this.#bridgeEvents(this.#mqtt.jobEventsTopic);
    }
    // stopped while the bridge subscribed: no worker on an app being closed
    if (this.#stopping) return;
    this.app.log.info(
      {
        event: 'server.started',
        mode: this.gateway.mode,
        url: this.gateway.url,
        driver: this.app.driver.kind,
      },
      `listening for MQTT on ${this.gateway.url} (${this.gateway.mode} broker)`,
    );
    if (options.workers) {
      const { queues, ...rest } = options.workers;
      const worker = this.app.createWorker({ ...rest, queues: parseQueueList(queues) });
      this.workers.push(worker);
      void worker.run();
    }
  }

  /** Waits, up to {@link STOP_EVENTS_MS}, for the events published so far to reach the bridge. */
  async #eventsDelivered(): Promise<void> {
    const delivered = this.app.driver.eventsDelivered?.();
    if (!delivered) return;
    await withDeadline(delivered, STOP_EVENTS_MS, 'job events not delivered').catch(() => {});
  }

  /**
   * Forwards job events to MQTT. If Redis refuses the subscription, `serve` keeps running
   * and the bridge retries in the background with backoff until it subscribes or the
   * server stops.
   */
  async #bridgeEvents(topic: string): Promise<void> {
    const subscribe = () =>
      bridgeJobEvents(this.app, this.gateway.publish, topic, this.app.log, {
        progress: this.#mqtt.jobEventsProgress,
      });
    const onError = (error: unknown, retryInMs: number) =>
      this.app.log.warn(
        { event: 'job_events.bridge_failed', err: error, retryInMs },
        'could not subscribe to job events; job events are not published on MQTT until it succeeds',
      );
    try {
      const stop = await subscribe();
      // stop() looked for the bridge before it was there: ended here instead
      if (this.#stopping) await stop().catch(() => {});
      else this.#stopEvents = stop;
      return;
    } catch (error) {
      onError(error, 0); // the background retries below start at once, then back off
    }
    void retryUntilDone(subscribe, { onError, giveUp: () => this.#stopping }).then(
      (stop) => {
        if (this.#stopping) void stop().catch(() => {});
        else {
          this.#stopEvents = stop;
          this.app.log.info({ event: 'job_events.bridged', topic }, 'job events are published on MQTT');
        }
      },
      () => {}, // gave up: the server is stopping
    );
  }

  /**
   * Stops taking messages, lets workers finish or release their jobs, closes the app, and logs
   * `server.stopped` with how long that took (`durationMs`) and `reason` when given.
   *
   * @example
   * await server.stop({ reason: 'SIGTERM' });
   */
  async stop(options: { reason?: string } = {}): Promise<void> {
    const startedAt = Date.now();
    this.#stopping = true;
    // Intake first (messages not yet handled stay with the broker), then the workers. The
    // workers stop taking jobs at once: their grace period runs while intake drains.
    for (const worker of this.workers) worker.stop();
    // also while starting: a connection still trying to reach its broker gives up at once;
    // messages being handled get a few seconds to be acknowledged (else each comes again)
    await this.gateway.stopIntake({ drainTimeoutMs: STOP_DRAIN_MS });
    this.pipeline.close();
    await Promise.all(this.workers.map((worker) => worker.shutdown()));
    // MQTT stays open until here, so the events of the jobs the workers finished or handed back
    // reach the bridge (each process hears its own through Redis) and go out before it closes
    if (this.#stopEvents && this.workers.length > 0) await this.#eventsDelivered();
    await this.#stopEvents?.();
    await this.gateway.stop();
    await this.app.close();
    this.app.log.info(
      // no reason given: pino leaves the undefined field out
      { event: 'server.stopped', reason: options.reason, durationMs: Date.now() - startedAt },
      'server stopped',
    );
  }
}

/**
 * How long a stopping server waits for the messages it is handling (on an external broker or the
 * embedded one), so that their acknowledgements go out (ms). Shorter than a stop's grace period: Redis away, they
 * stay unacknowledged and come again, as they must.
 */
export const STOP_DRAIN_MS = 5000;

/**
 * How long a stopping server waits for the last job events of its workers to reach its MQTT
 * bridge (ms): two Redis round trips, unless Redis is away, when those events are lost anyway.
 */
const STOP_EVENTS_MS = 2000;

/**
 * Throws `E_INVALID_CONFIG` when a job event topic could reach a route of the app (the job
 * command route included) or the command replies: on an external broker the app would take
 * its own events for device messages (a dead letter each, or a job each), and requesters would
 * read events as replies.
 */
function assertEventsReachNoRoute(mqtt: MqttSettings, routes: AppRouteTable): void {
  const template = mqtt.jobEventsTopic;
  if (template === undefined) return;
  const route = routes.routes().find((record) => eventTopicMayMatch(template, record.filter));
  if (route) {
    throw new InvalidConfigError(
      `JOB_EVENTS_TOPIC ${template} can name topics the route ${route.pattern} subscribes to (${route.filter}): the app would receive its own job events as messages; choose a template outside the app's routes, e.g. topiq/jobs/{queue}/{id}/{status}`,
    );
  }
  const replies = mqtt.jobCommandReplyTopic;
  if (mqtt.jobCommandTopic && replies && eventTopicMayMatch(template, `${replies}/#`)) {
    throw new InvalidConfigError(
      `JOB_EVENTS_TOPIC ${template} can name topics under the command reply prefix ${replies} (JOB_COMMAND_REPLY_TOPIC): requesters would read job events as replies; choose a template outside it, e.g. topiq/jobs/{queue}/{id}/{status}`,
    );
  }
}
