#!/bin/sh
# The test command (`npm test`): system packages, typecheck, lint, build, then every test.
#   1. the Debian packages the integration tests use must be there: as root they are installed
#      (scripts/install-system-deps.sh); otherwise this stops and prints the apt-get line.
#   2. tsc --noEmit   3. lint: biome ci (format and lint rules, biome.json; `npm run format` fixes the format)   4. build (tsc, then the CLI bundle the CLI tests run)
#   5. node --test over dist/test
# The exit code is the first failing step's, or the test runner's.
# Environment: FERRY_TEST_CONCURRENCY (files run at once, default 2),
#              FERRY_TEST_TIMEOUT_MS (per test, default 300000).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

step() { printf '\n== %s\n' "$*"; }

step "system packages"
if ! missing=$(bash "$here/install-system-deps.sh" --check); then
  if [ "$(id -u)" = 0 ]; then
    bash "$here/install-system-deps.sh"
  else
    echo "test.sh: the integration tests need Debian packages that are missing: $missing" >&2
    echo "sudo apt-get install -y $missing"
    exit 1
  fi
else
  echo "all present"
fi

bin=$root/node_modules/.bin
if [ ! -x "$bin/tsc" ] || [ ! -x "$bin/biome" ]; then
  echo "test.sh: node_modules is missing or incomplete: run 'npm ci' first" >&2
  exit 1
fi

step "typecheck (tsc --noEmit)"
"$bin/tsc" -p tsconfig.json --noEmit

step "lint (biome ci: format and lint)"
"$bin/biome" ci --colors=off

step "build (tsc, CLI bundle)"
"$bin/tsc" -p tsconfig.json
node scripts/bundle.mjs

step "tests (node --test)"
# Only compiled tests whose source still exists (dist/ may hold tests of deleted files).
files=$(find dist/test -name '*.test.js' | sort | while read -r js; do
  src=${js#dist/}
  [ -f "${src%.js}.ts" ] && echo "$js"
done)
if [ -z "$files" ]; then
  echo "test.sh: no test files under dist/test" >&2
  exit 1
fi
# Copies made by the tests must not read or fill the machine's persistent blob-info cache
# (tests that exercise the cache pass their own); each process gets an in-memory one.
export FERRY_BLOB_CACHE="${FERRY_BLOB_CACHE:-memory}"
# shellcheck disable=SC2086 # one word per file (paths under dist/test have no spaces)
exec node --test \
  --test-concurrency="${FERRY_TEST_CONCURRENCY:-2}" \
  --test-timeout="${FERRY_TEST_TIMEOUT_MS:-300000}" \
  $files
