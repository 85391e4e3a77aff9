#!/usr/bin/env node
// The `topiq` command. Topiq runs its TypeScript sources directly through tsx, so there is
// no build step between editing app/ and running it.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../bootstrap/console.ts');
const { exitWhenDone } = await import('../core/console/exit_when_done.ts');
// exits with main's code, within 2 s even if a job handler that ignored its signal still runs
exitWhenDone(await main(process.argv.slice(2)));
