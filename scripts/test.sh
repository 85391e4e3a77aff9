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
# Two forks at once: the tests mostly wait on timers, Redis and the brokers, so on 2 cores the
# suite takes about 3 and a half minutes instead of 5 and a half one file after another. The
# files whose assertions depend on how fast the machine runs (the worker's reserve-ahead adapts
# to the time a job takes against a reserve round trip, and sheds what it holds once jobs grow
# long) run afterwards, one at a time.
ALONE=(
  tests/unit/queue/worker_reserve_overlap.test.ts
  tests/integration/queue/worker_redis.test.ts
  tests/integration/queue/memory_driver.test.ts
)
npx vitest run --maxWorkers=2 --minWorkers=2 "${ALONE[@]/#/--exclude=}"
npx vitest run "${ALONE[@]}"
