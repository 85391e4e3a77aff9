/**
 * docker-compose.yml against the code it runs (no Docker engine runs the suite): every
 * Topiq service's command line parses as `npx topiq` would parse it, every variable it sets
 * is one the config reads, the worker services serve every queue of the example app's jobs,
 * and the files it mounts and the README's commands name what is there.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { jobs } from '../../../app/jobs/index.js';
import { commands } from '../../../bootstrap/console.js';
import appConfig from '../../../config/app.js';
import mqttConfig from '../../../config/mqtt.js';
import queueConfig from '../../../config/queue.js';
import { queuesOfJobs } from '../../../core/console/commands/queue_work_command.js';
import { refuseRepeatedFlags } from '../../../core/console/kernel.js';

const root = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, unknown>;
  volumes?: string[];
}

// YAML 1.1 merge keys (`<<: *topiq`), as Compose reads them
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
};
const topiqServices = Object.entries(compose.services).filter(([, service]) => service.build === '.');

/** Parses `argv` with the options of the command it names, as the kernel does; throws on a bad line. */
function parseCommandLine(argv: readonly string[]): { name: string; options: Record<string, unknown> } {
  const [name, ...rest] = argv;
  const commandClass = commands.find((candidate) => candidate.commandName === name);
  if (!commandClass) throw new Error(`no topiq command ${name}`);
  const command = new Command(name).exitOverride().configureOutput({ writeErr: () => {} });
  commandClass.configure(command);
  refuseRepeatedFlags(command); // as the kernel does
  command.action(() => {});
  command.parse([...rest], { from: 'user' });
  return { name: name!, options: command.opts() };
}

describe('docker-compose.yml', () => {
  it('runs the app image as serve and one queue:work per queue', () => {
    expect(topiqServices.map(([name]) => name).sort()).toEqual([
      'app',
      'worker-emails',
      'worker-notifications',
      'worker-telemetry',
    ]);
  });

  it.each(topiqServices)('%s: its command line parses as npx topiq would parse it', (_name, service) => {
    expect(service.command).toBeDefined();
    expect(() => parseCommandLine(service.command!)).not.toThrow();
  });

  it.each(topiqServices)('%s: sets only variables the config reads', (_name, service) => {
    const known = new Set([
      'NODE_ENV',
      ...appConfig.variables,
      ...queueConfig.variables,
      ...mqttConfig.variables,
    ]);
    expect(Object.keys(service.environment ?? {}).filter((name) => !known.has(name))).toEqual([]);
  });

  it("serves every queue of the example app's jobs with a worker service", () => {
    const served = topiqServices
      .map(([, service]) => parseCommandLine(service.command!))
      .filter((line) => line.name === 'queue:work')
      .flatMap((line) => String(line.options.queue).split(','));
    // the queues the jobs name (queuesOfJobs adds `default`, which none of them uses)
    const named = queuesOfJobs(jobs).filter((queue) =>
      jobs.some((job) => (job.queue ?? 'default') === queue),
    );
    expect(served.sort()).toEqual(named.sort());
  });

  it('depends only on services it defines, and mounts files that are there', () => {
    for (const service of Object.values(compose.services)) {
      for (const dependency of Object.keys(service.depends_on ?? {})) {
        expect(Object.keys(compose.services)).toContain(dependency);
      }
      for (const volume of service.volumes ?? []) {
        const [source] = volume.split(':');
        if (source?.startsWith('./')) expect(existsSync(new URL(source, root)), source).toBe(true);
      }
    }
    for (const file of ['mosquitto.conf', 'acl']) {
      expect(existsSync(new URL(`docker/mosquitto/${file}`, root))).toBe(true);
    }
  });

  it("matches the README: its services, and commands that name the compose file's services", () => {
    const readme = read('README.md');
    for (const name of Object.keys(compose.services)) expect(readme).toContain(`**${name}**`);
    const named = [...readme.matchAll(/docker compose (?:exec|run --rm) (\S+)/g)].map((match) => match[1]);
    expect(named.length).toBeGreaterThan(0);
    for (const service of named) expect(Object.keys(compose.services)).toContain(service);
  });
});
