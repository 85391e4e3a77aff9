/**
 * Every variable the config sections read is listed in `.env.example` (which says it lists them
 * all, with their defaults) and in docs/configuration.md: a variable added to a schema and
 * forgotten in either fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import appConfig from '../../../config/app.js';
import mqttConfig from '../../../config/mqtt.js';
import queueConfig from '../../../config/queue.js';

const root = new URL('../../../', import.meta.url);
const envExample = readFileSync(new URL('.env.example', root), 'utf8');
const configurationDoc = readFileSync(new URL('docs/configuration.md', root), 'utf8');

describe.each([appConfig, mqttConfig, queueConfig])('the $name config section', (section) => {
  it('reads variables, each listed in .env.example as NAME= and in docs/configuration.md', () => {
    expect(section.variables.length).toBeGreaterThan(0);
    const unlisted = section.variables.filter((name) => !new RegExp(`^#? ?${name}=`, 'm').test(envExample));
    const undocumented = section.variables.filter((name) => !configurationDoc.includes(`\`${name}\``));
    expect({ unlisted, undocumented }).toEqual({ unlisted: [], undocumented: [] });
  });
});
