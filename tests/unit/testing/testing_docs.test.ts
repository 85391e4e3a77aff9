/**
 * What docs/testing.md and the README tell a user to copy works: the route test example is the
 * shipped one (so it compiles and passes), every route test setup unbinds the fake even when
 * the server could not be built, and the cancel section says how to move time without
 * stopping a cancel.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

const testingDoc = read('docs/testing.md');
const shippedRouteTest = read('tests/app/telemetry_route.test.ts');

/** The text of `doc` from the line `from` up to the next line starting with `until`. */
function section(doc: string, from: string, until: string): string {
  const start = doc.indexOf(`\n${from}`);
  expect(start, `"${from}" in the document`).toBeGreaterThanOrEqual(0);
  const end = doc.indexOf(`\n${until}`, start + from.length + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

/** Every `afterEach(async () => { ... });` block of `source` that stops a server. */
function teardowns(source: string): string[] {
  return [...source.matchAll(/^afterEach\(async \(\) => \{\n[\s\S]*?^\}\);$/gm)]
    .map((match) => match[0])
    .filter((block) => block.includes('.stop()'));
}

describe('docs/testing.md and the README testing section', () => {
  it('show the shipped tests/app/telemetry_route.test.ts, as it is, as the route test example', () => {
    const example = section(testingDoc, '## A route test', '## ').match(/```ts\n([\s\S]*?)\n```/)?.[1];
    const shipped = shippedRouteTest.slice(shippedRouteTest.indexOf('import {')).trimEnd();
    expect(example).toBe(shipped);
  });

  it('restore the fake before stopping the server in every route test setup they show or ship', () => {
    const appTests = readdirSync(new URL('tests/app/', root)).filter((name) => name.endsWith('.test.ts'));
    const sources: [string, string][] = [
      ['docs/testing.md', testingDoc],
      ['README.md', section(read('README.md'), '## Testing your app', '## ')],
      ...appTests.map((name): [string, string] => [`tests/app/${name}`, read(`tests/app/${name}`)]),
    ];
    const checked: string[] = [];
    for (const [path, source] of sources) {
      for (const teardown of teardowns(source)) {
        const lines = teardown.split('\n').slice(1, -1);
        // restore first: when createServer threw there is no server, and stop() would throw
        // before the fake was unbound, leaving it bound for the test files after this one
        expect(lines[0]?.trim(), path).toMatch(/^fake\.restore\(\);/);
        expect(teardown, path).toContain('await server?.stop();');
        checked.push(path);
      }
    }
    expect(checked).toEqual(
      expect.arrayContaining(['docs/testing.md', 'README.md', 'tests/app/telemetry_route.test.ts']),
    );
  });

  it('say, where they show a cancel, how to fake time without stopping the cancel', () => {
    const cancels = section(testingDoc, 'A job cancelled while it runs', '```');
    expect(cancels).toContain("vi.useFakeTimers({ toFake: ['Date'] })");
    expect(cancels).toContain('vi.advanceTimersByTimeAsync(0)');
  });
});
