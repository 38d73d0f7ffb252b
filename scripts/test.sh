#!/usr/bin/env bash
# scripts/test.sh — what `npm test` runs.
#
#   1. scripts/services.sh   start/verify any database server the tests need
#   2. addon freshness       rebuild the addon if Rust sources are newer than it
#   3. drift check           committed index.js / index.d.ts == what the build generated
#   4. cargo test --lib      Rust unit tests (napi-free core)
#   5. node --test __test__/ JS tests against the built addon (Node 20 runner)
#   6. quick benchmark       npm run bench -- --quick (checks its own results, so
#                            the bench cannot rot; its speed numbers are not judged)
#
# Expects `npm install` to have run first (it installs @napi-rs/cli and, from a
# checkout, builds the addon via the `prepare` script). Any failure fails the run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

ADDON="wastore.linux-x64-gnu.node"
START=$(date +%s)
step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nnpm test: FAILED: %s\n' "$*" >&2; exit 1; }

step "database services (scripts/services.sh)"
bash scripts/services.sh --fresh-test-databases || fail "scripts/services.sh could not start a required database server"
# Both the Rust and the JS suites read these (defaults: the databases services.sh just made).
export WASTORE_TEST_PG_URL="${WASTORE_TEST_PG_URL:-postgres://wastore@127.0.0.1:5432/wastore_test}"
export WASTORE_TEST_MYSQL_URL="${WASTORE_TEST_MYSQL_URL:-mysql://wastore@127.0.0.1:3306/wastore_test}"
export WASTORE_TEST_REDIS_URL="${WASTORE_TEST_REDIS_URL:-redis://127.0.0.1:6379/}"
# MongoDB-wire server (nx-27017); the suites use its database wastore_test.
export WASTORE_TEST_MONGO_URL="${WASTORE_TEST_MONGO_URL:-mongodb://127.0.0.1:27017}"

step "native addon"
if [ ! -x node_modules/.bin/napi ]; then
  fail "node_modules/.bin/napi is missing: run 'npm install' first"
fi
# Rebuild when the addon is missing or older than any Rust input, so `npm test`
# never runs the JS tests against a stale binary. After a fresh `npm install`
# this is a no-op.
stale=""
if [ ! -f "$ADDON" ] || [ ! -f index.js ] || [ ! -f index.d.ts ]; then
  stale="missing"
elif [ -n "$(find src Cargo.toml build.rs $( [ -f Cargo.lock ] && echo Cargo.lock ) -newer "$ADDON" -print -quit 2>/dev/null)" ]; then
  stale="older than the Rust sources"
fi
if [ -n "$stale" ]; then
  echo "addon $stale: npm run build"
  npm run --silent build || fail "building the addon (npm run build) failed"
else
  echo "$ADDON is up to date"
fi

step "generated files drift check (index.js, index.d.ts)"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  untracked=""
  for f in index.js index.d.ts; do
    git ls-files --error-unmatch -- "$f" >/dev/null 2>&1 || untracked="$untracked $f"
  done
  if [ -n "$untracked" ]; then
    echo "warning:$untracked not committed yet; commit the generated file(s) so changes to the JS API show up in review"
  fi
  if ! git diff --exit-code --stat -- index.js index.d.ts; then
    git --no-pager diff -- index.js index.d.ts | head -n 80 || true   # head closing the pipe is fine
    fail "index.js / index.d.ts differ from the committed version. The build regenerated them from the Rust sources (napi-rs); review the diff above and commit the regenerated files."
  fi
  [ "$untracked" = " index.js index.d.ts" ] || echo "committed index.js / index.d.ts match the build"
else
  echo "not a git work tree: skipped"
fi

step "cargo test --lib"
cargo_log="$(mktemp)"
node_log="$(mktemp)"
trap 'rm -f "$cargo_log" "$node_log"' EXIT
set +e
cargo test --lib 2>&1 | tee "$cargo_log"
cargo_rc=${PIPESTATUS[0]}
set -e
[ "$cargo_rc" -eq 0 ] || fail "Rust unit tests failed (cargo test --lib, exit $cargo_rc)"
rust_pass=$(sed -n 's/^test result: ok\. \([0-9]*\) passed.*/\1/p' "$cargo_log" | awk '{s+=$1} END {print s+0}')

# Test files mostly wait on the servers, so three run at once (Node 20 runs
# one at a time on a 2-core machine); WASTORE_TEST_CONCURRENCY overrides.
node_concurrency="${WASTORE_TEST_CONCURRENCY:-3}"
step "node --test --test-concurrency=$node_concurrency __test__/"
# A directory argument makes Node 20 run every *.test.{js,mjs,cjs} (and test-*.js,
# *_test.js, test.js) under it, recursively; helpers with other names are not run.
# The outage tests stop and start shared servers, so they run on their own
# afterwards, never beside another test file.
fault_setting="${WASTORE_FAULT_TESTS:-1}"
set +e
WASTORE_FAULT_TESTS=0 node --test --test-concurrency="$node_concurrency" __test__/ 2>&1 | tee "$node_log"
node_rc=${PIPESTATUS[0]}
set -e
pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$node_log" | tail -n1)
failn=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$node_log" | tail -n1)
if [ "$node_rc" -eq 0 ] && [ "$fault_setting" != "0" ]; then
  step "node --test __test__/faults.test.js (server outages)"
  set +e
  node --test __test__/faults.test.js 2>&1 | tee "$node_log"
  node_rc=${PIPESTATUS[0]}
  set -e
  pass=$(( ${pass:-0} + $(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$node_log" | tail -n1) ))
  failn=$(( ${failn:-0} + $(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$node_log" | tail -n1) ))
fi

if [ "$node_rc" -ne 0 ]; then
  fail "node tests: ${pass:-?} passed, ${failn:-?} failed (exit $node_rc)"
fi
if [ "${pass:-0}" -eq 0 ]; then
  fail "node --test ran no passing tests (is __test__/ empty?)"
fi

if [ "${WASTORE_QUICK_BENCH:-1}" != "0" ]; then
  step "quick benchmark (npm run bench -- --quick)"
  if [ ! -d bench/node_modules ]; then
    # The peers are dev dependencies of bench/ only. better-sqlite3 compiles
    # from source: no prebuilt download, Node's headers from this installation.
    node_prefix="$(node -p "require('path').resolve(process.execPath, '../..')")"
    [ -f "$node_prefix/include/node/node_api.h" ] && export npm_config_nodedir="$node_prefix"
    npm_config_build_from_source=true npm install --prefix bench --no-audit --no-fund \
      || fail "installing the bench peers (npm install --prefix bench) failed"
  fi
  npm run --silent bench -- --quick || fail "the quick benchmark failed a check (npm run bench -- --quick)"
fi

elapsed=$(( $(date +%s) - START ))
printf '\nnpm test: OK: rust %s passed; node %s passed, %s failed (%ss)\n' "$rust_pass" "${pass:-?}" "${failn:-0}" "$elapsed"
