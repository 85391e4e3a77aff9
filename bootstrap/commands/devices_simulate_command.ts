/**
 * `npx topiq devices:simulate`: a fleet of simulated sensors publishing realistic
 * telemetry, to try the app end to end or to load-test it. Each device is its own MQTT
 * connection whose username is its id (`<prefix>-1` … `<prefix>-N`), so the broker's
 * per-device ACLs apply as they would to real hardware. Each publishes a status when it
 * comes online and when its battery drifts, and `devices/<id>/telemetry` at `--rate`.
 *
 * Ctrl-C stops publishing early; outstanding acknowledgements are awaited (at most 5 s),
 * every device disconnects cleanly and the summary is printed. A second Ctrl-C exits at
 * once. Exit code 0 when every publish succeeded, 1 when any failed or a device could not
 * connect, 2 for a bad flag.
 */
import { type Command, Option } from 'commander';
import { BaseCommand } from '../../core/console/command.js';
import { CliUsageError } from '../../core/errors.js';
import { parsePositiveNumber } from '../../core/console/parsers.js';
import type { Qos } from '../../core/routing/index.js';
import { DeviceFleet } from './simulation/device_fleet.js';
import { formatSummary, type PublishStats } from './simulation/publish_stats.js';
import { SimulatedDevice } from './simulation/simulated_device.js';
import {
  brokerUrl,
  DEFAULT_PASSWORD,
  deviceIds,
  devicePasswords,
  parseDeviceCount,
  parseDevicePrefix,
  parseMqttUrl,
  parseQos,
  parseRate,
} from './simulation/simulation_options.js';

/** The flags of `devices:simulate`, as parsed. */
export interface DevicesSimulateFlags {
  devices: number;
  rate: number;
  duration: number;
  url?: string;
  qos: Qos;
  prefix: string;
  password?: string;
  json?: boolean;
}

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** Publishes simulated device telemetry over MQTT. */
export class DevicesSimulateCommand extends BaseCommand<DevicesSimulateFlags> {
  static override readonly commandName = 'devices:simulate';
  static override readonly description =
    'Simulate devices publishing telemetry over MQTT, then print throughput and latency';

  static override configure(command: Command): void {
    command
      .addOption(
        new Option('--devices <n>', 'simulated devices, one MQTT connection each')
          .argParser(parseDeviceCount)
          .default(10),
      )
      .addOption(
        new Option('--rate <n>', 'telemetry messages per second per device').argParser(parseRate).default(1),
      )
      .addOption(
        new Option('--duration <seconds>', 'how long to publish').argParser(parsePositiveNumber).default(10),
      )
      .addOption(
        new Option(
          '--url <url>',
          'broker URL (default MQTT_URL, else mqtt://127.0.0.1:<MQTT_BROKER_PORT>)',
        ).argParser(parseMqttUrl),
      )
      .addOption(new Option('--qos <qos>', 'QoS of every publish: 0, 1 or 2').argParser(parseQos).default(1))
      .addOption(
        new Option('--prefix <prefix>', 'device ids are <prefix>-1 … <prefix>-N')
          .argParser(parseDevicePrefix)
          .default('sensor'),
      )
      .addOption(
        new Option(
          '--password <password>',
          `password of every device (default: its MQTT_DEVICES entry, else "${DEFAULT_PASSWORD}", which development auth accepts)`,
        ),
      )
      .addOption(new Option('--json', 'print the summary as JSON'));
  }

  async run(): Promise<number> {
    const { flags } = this;
    // each device's first message (its status, then telemetry) comes at its turn in the first
    // 1/rate seconds: a shorter run would leave some devices silent
    if (flags.duration * flags.rate < 1) {
      throw new CliUsageError(
        `--duration ${flags.duration} at --rate ${flags.rate} is too short for every device to publish once; give a --duration of at least ${Math.ceil(1000 / flags.rate) / 1000} s, or a higher --rate`,
      );
    }
    const mqtt = await readMqttConfig();
    const url = brokerUrl(flags.url, { url: mqtt.url, port: mqtt.broker.port });
    const ids = deviceIds(flags.prefix, flags.devices);
    const passwords = devicePasswords(ids, flags.password, mqtt.broker.accounts);
    const fleet = new DeviceFleet({
      url,
      devices: ids.map((id) => new SimulatedDevice(id)),
      passwords,
      // the client ids the app's embedded broker takes, from the same settings
      clientIds: mqtt.broker.deviceClientIds === 'device-id' ? 'device-id' : 'unique',
      rate: flags.rate,
      durationMs: flags.duration * 1000,
      qos: flags.qos,
      ...(flags.json ? {} : { onProgress: (stats, seconds) => this.line(progressLine(stats, seconds)) }),
    });
    if (!flags.json) {
      this.line(
        `Simulating ${flags.devices} device${flags.devices === 1 ? '' : 's'} (${ids[0]}…${ids.at(-1)}) ` +
          `at ${flags.rate} msg/s each for ${flags.duration} s, QoS ${flags.qos}, against ${url}. Ctrl-C stops early.`,
      );
    }
    const stop = new AbortController();
    const onSignal = () => {
      if (stop.signal.aborted) {
        this.context.forceExit(1);
        return;
      }
      if (!flags.json)
        this.line('Stopping: waiting for outstanding acknowledgements (Ctrl-C again to quit now)…');
      stop.abort();
    };
    const { signals } = this.context;
    for (const signal of SIGNALS) signals.on(signal, onSignal);
    try {
      const summary = await fleet.run(stop.signal);
      if (flags.json) this.json(summary);
      else this.line(formatSummary(summary));
      return summary.failed > 0 ? 1 : 0;
    } finally {
      for (const signal of SIGNALS) signals.off(signal, onSignal);
    }
  }
}

/** The MQTT config, after `.env` (this command builds no application, which would load it). */
async function readMqttConfig() {
  const { namingEnvFile } = await import('../env_file.js');
  const { default: mqttConfig } = await import('../../config/mqtt.js');
  return namingEnvFile(process.env, () => mqttConfig.read(process.env));
}

function progressLine(stats: PublishStats, seconds: number): string {
  const acknowledged = stats.qos > 0 ? `, ${stats.completedCount} acknowledged` : '';
  return `  ${seconds.toFixed(1)} s: ${stats.sentCount} sent${acknowledged}, ${stats.failedCount} failed, ${stats.pending} in flight`;
}
