#!/usr/bin/env bash
# The whole test suite, as README and .ci/run call it: services up, typecheck, lint,
# import cycles, then every vitest test (unit, type-level, integration).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure_services.sh
echo "== typecheck"; npx tsc -p tsconfig.json --noEmit
echo "== lint"; npx biome check .
echo "== import cycles"; npx madge --circular --extensions ts --ts-config tsconfig.json core app config bootstrap
echo "== tests"
if [ "$#" -gt 0 ]; then
  npx vitest run "$@"
  exit
fi
# Two test files at once (vitest would keep one of 2 cores free and run them one after another,
# 5 minutes instead of about 2): the tests mostly wait on timers, Redis and the brokers. The
# files whose assertions depend on how fast the machine runs a worker or a connection beside
# other work (the reserve-ahead timing a job against a reserve round trip, Mosquitto read holds,
# worker processes killed mid-job) run afterwards, one at a time, as they failed now and then
# with another file beside them.
ALONE=(
  tests/unit/queue/worker_reserve_overlap.test.ts
  tests/integration/queue/worker_redis.test.ts
  tests/integration/mqtt/connection_mosquitto.test.ts
  tests/integration/reliability/
)
EXCLUDED=()
for path in "${ALONE[@]}"; do
  if [[ "$path" == */ ]]; then EXCLUDED+=("--exclude=${path}**"); else EXCLUDED+=("--exclude=${path}"); fi
done
npx vitest run --maxWorkers=2 --minWorkers=2 "${EXCLUDED[@]}"
echo "== tests that run alone"
npx vitest run "${ALONE[@]}"
