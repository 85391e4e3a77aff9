#!/usr/bin/env bash
# The whole test suite, as README and .ci/run call it: services up, typecheck, lint,
# import cycles, then every vitest test (unit, type-level, integration).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure_services.sh
echo "== typecheck"; npx tsc -p tsconfig.json --noEmit
echo "== lint"; npx biome check .
echo "== import cycles"; npx madge --circular --extensions ts --ts-config tsconfig.json core app config bootstrap
echo "== tests"; npx vitest run "$@"
