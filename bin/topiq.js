#!/usr/bin/env node
// The `topiq` command. Topiq runs its TypeScript sources directly through tsx, so there is
// no build step between editing app/ and running it.
import { register } from 'tsx/esm/api';

register();
const { exitWhenDone, exitWhenReaderGone } = await import('../core/console/exit_when_done.ts');
// `npx topiq job:list | head -5`: once head has its lines, stop there, exit 0, no EPIPE trace
exitWhenReaderGone(process.stdout);
const { main } = await import('../bootstrap/console.ts');
// exits with main's code, within 2 s even if a job handler that ignored its signal still runs
exitWhenDone(await main(process.argv.slice(2)));
