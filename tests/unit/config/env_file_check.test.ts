/** The start-up warning for credentials in .env that dotenv cuts at a `#`. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'dotenv';
import { afterEach, describe, expect, it } from 'vitest';
import { createApplication } from '../../../bootstrap/app.js';
import { credentialsCutAtHash, warnOfCutCredentials } from '../../../core/config/env_file_check.js';
import { capturingLogger } from '../../support/capturing_logger.js';

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

/** A .env file holding `text`, in a fresh temporary directory. */
function envFile(text: string): string {
  const directory = mkdtempSync(join(tmpdir(), 'fx-nu-env-'));
  directories.push(directory);
  const path = join(directory, '.env');
  writeFileSync(path, text);
  return path;
}

describe('credentialsCutAtHash', () => {
  it('names the credentials whose unquoted value dotenv cuts at a #', () => {
    const source = [
      'MQTT_DEVICES=sensor-1:p@ss#w0rd,sensor-2:x',
      'export MQTT_SERVICE_ACCOUNTS=dashboard:#secret',
      'MQTT_PASSWORD=#leading',
      'REDIS_URL=redis://:pa#ss@127.0.0.1:6379',
    ].join('\n');
    // what dotenv really does with them
    expect(parse(source)).toEqual({
      MQTT_DEVICES: 'sensor-1:p@ss',
      MQTT_SERVICE_ACCOUNTS: 'dashboard:',
      MQTT_PASSWORD: '',
      REDIS_URL: 'redis://:pa',
    });
    expect(credentialsCutAtHash(source)).toEqual([
      'MQTT_DEVICES',
      'MQTT_SERVICE_ACCOUNTS',
      'MQTT_PASSWORD',
      'REDIS_URL',
    ]);
  });

  it('passes quoted values, comments after a space, commented-out lines and other variables', () => {
    const source = [
      "MQTT_DEVICES='sensor-1:p@ss#w0rd,sensor-2:x'",
      'MQTT_PASSWORD="p@ss#w0rd"',
      'MQTT_SERVICE_ACCOUNTS=dashboard:secret # the dashboard',
      '# REDIS_URL=redis://:pa#ss@127.0.0.1:6379',
      'APP_NAME=topiq#1',
    ].join('\r\n');
    expect(parse(source)).toMatchObject({
      MQTT_DEVICES: 'sensor-1:p@ss#w0rd,sensor-2:x',
      MQTT_PASSWORD: 'p@ss#w0rd',
    });
    expect(credentialsCutAtHash(source)).toEqual([]);
  });

  it('names a value that starts with a quote dotenv does not take as closed, and the NAME: value form', () => {
    for (const line of [
      "MQTT_PASSWORD='it's#secret'",
      "MQTT_PASSWORD='p@ss#w0rd",
      'MQTT_PASSWORD="p@ss#w0rd',
      'MQTT_PASSWORD: p@ss#w0rd',
    ]) {
      // dotenv reads each as unquoted, cut at the #, keeping a stray quote
      expect(parse(line).MQTT_PASSWORD, line).not.toContain('#');
      expect(credentialsCutAtHash(line), line).toEqual(['MQTT_PASSWORD']);
    }
    // a double-quoted value over two lines, read whole
    const multiline = 'MQTT_PASSWORD="p@ss#w0rd\nsecond line"';
    expect(parse(multiline).MQTT_PASSWORD).toBe('p@ss#w0rd\nsecond line');
    expect(credentialsCutAtHash(multiline)).toEqual([]);
    // closed, with a comment after it: kept whole
    expect(parse("MQTT_PASSWORD='p@ss#w0rd' # the app").MQTT_PASSWORD).toBe('p@ss#w0rd');
    expect(credentialsCutAtHash("MQTT_PASSWORD='p@ss#w0rd' # the app")).toEqual([]);
  });
});

describe('warnOfCutCredentials', () => {
  it('logs config.env_value_cut naming the variables and how to quote them', () => {
    const log = capturingLogger('warn');
    const path = envFile('MQTT_DEVICES=sensor-1:p@ss#w0rd,sensor-2:x\nMQTT_AUTH=credentials\n');
    warnOfCutCredentials(path, log.logger, { MQTT_DEVICES: 'sensor-1:p@ss' }); // as dotenv set it
    const [warning] = log.events('config.env_value_cut');
    expect(warning).toMatchObject({ file: path, variables: ['MQTT_DEVICES'] });
    expect(warning?.msg).toMatch(/quote the value/);
  });

  it('says nothing for a file without cut credentials, or no file at all', () => {
    const log = capturingLogger('warn');
    warnOfCutCredentials(envFile("MQTT_PASSWORD='p@ss#w0rd'\n"), log.logger, { MQTT_PASSWORD: 'p@ss#w0rd' });
    warnOfCutCredentials(join(tmpdir(), 'fx-nu-missing', '.env'), log.logger, {});
    expect(log.lines).toEqual([]);
  });

  it('says nothing when the environment set the variable before dotenv, which then kept it whole', () => {
    const log = capturingLogger('warn');
    warnOfCutCredentials(envFile('MQTT_PASSWORD=p@ss#w0rd\n'), log.logger, { MQTT_PASSWORD: 'p@ss#w0rd' });
    expect(log.lines).toEqual([]);
  });
});

describe('createApplication', () => {
  it('warns of cut credentials in the .env file dotenv loaded, when it reads the process environment', async () => {
    const path = envFile('MQTT_PASSWORD=p@ss#w0rd\n');
    const before = process.env.DOTENV_CONFIG_PATH;
    const password = process.env.MQTT_PASSWORD;
    process.env.DOTENV_CONFIG_PATH = path;
    process.env.MQTT_PASSWORD = 'p@ss'; // what dotenv made of that line
    const log = capturingLogger('warn');
    try {
      const app = createApplication({ log: log.logger });
      await app.close();
      const withEnv = createApplication({ env: { LOG_LEVEL: 'silent' }, log: log.logger });
      await withEnv.close();
    } finally {
      if (before === undefined) delete process.env.DOTENV_CONFIG_PATH;
      else process.env.DOTENV_CONFIG_PATH = before;
      if (password === undefined) delete process.env.MQTT_PASSWORD;
      else process.env.MQTT_PASSWORD = password;
    }
    expect(log.events('config.env_value_cut')).toMatchObject([{ variables: ['MQTT_PASSWORD'] }]);
  });
});
