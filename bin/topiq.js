#!/usr/bin/env node
// The `topiq` command. Topiq runs its TypeScript sources directly through tsx, so there is
// no build step between editing app/ and running it.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../bootstrap/console.ts');
process.exitCode = await main(process.argv.slice(2));
