/**
 * vitest global setup: the integration tests use real services on loopback, so make
 * sure Redis and Mosquitto answer before any test runs (starting them when they do not).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const script = fileURLToPath(new URL('../../scripts/ensure_services.sh', import.meta.url));
  execFileSync('bash', [script], { stdio: 'inherit' });
}
