import { devNull } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/support/global_setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // One module graph for all test files of a fork, instead of a fresh process per file: the
    // suite took about 250 s on 2 cores isolated and 165 s not (transform and collect ran once
    // per file). Test files therefore restore what they change (timers, env, spies) and do not
    // vi.mock a module others load (tests/unit/queue/worker_name.test.ts spies instead).
    isolate: false,
    reporters: ['default'],
    // The tests set the configuration they need: a user's .env in the project root (the README
    // tour writes one) is not read, by the test processes or the CLI children they start.
    env: { DOTENV_CONFIG_PATH: devNull },
  },
});
