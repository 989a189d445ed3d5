#!/usr/bin/env bash
# The whole test suite: `npm test`. README's second command and what .ci/run runs.
#
#  1. Postgres and Redis: DATABASE_URL / REDIS_URL when set, otherwise throwaway instances on free
#     loopback ports (scripts/services.sh installs them from Debian's packages where it can and
#     otherwise stops with what to install). Tests that need them never skip.
#  2. Schema checks: buf lint, buf breaking against the committed baseline image and every commit
#     that touched proto/ (the baseline only, with a warning, without the git history), generated code current (scripts/generate.sh
#     --check), vendored protos current; and the TypeScript types (tsc --noEmit).
#  3. vitest (unit, integration, fault tests; TypeScript).
#  4. A gateway on the embedded default, and the Go and Python client tests against it.
#  5. One closing line summed over every runner: `N passed, N failed, N skipped`.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
export PATH="$ROOT/node_modules/.bin:$PATH"
command -v go >/dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"

log() { printf '\n== %s\n' "$*" >&2; }
passed=0 failed=0 skipped=0
check() { # NAME COMMAND...: one schema check counted as one test
  local name="$1"; shift
  if "$@" >&2; then passed=$((passed + 1)); printf 'check passed: %s\n' "$name" >&2
  else failed=$((failed + 1)); printf 'check FAILED: %s\n' "$name" >&2; fi
}

work="$(mktemp -d)"
gateway_pid=""
cleanup() {
  [[ -n "$gateway_pid" ]] && kill "$gateway_pid" 2>/dev/null && wait "$gateway_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

log "services (Postgres, Redis)"
services_env="$(bash scripts/services.sh up)" || { echo "could not provide Postgres and Redis (see above)" >&2; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
eval "$services_env"
export DATABASE_URL REDIS_URL
printf 'DATABASE_URL and REDIS_URL are set\n' >&2

log "code-generation tools (Go, Python)"
bash scripts/tools.sh || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }

log "schema checks"
check "buf lint" buf lint
breaking_against() {
  local shas sha n=0
  # The committed baseline image (the v1 schema when it was last refreshed, with
  # `buf build --exclude-source-info -o scripts/schema-baseline.binpb`): compared whatever the
  # checkout holds, so the check never passes by comparing with nothing.
  buf breaking --against scripts/schema-baseline.binpb || { echo "buf breaking: incompatible with scripts/schema-baseline.binpb" >&2; return 1; }
  # A shallow clone (CI checkouts often are; .ci/run deepens one) or a tree without .git holds no
  # earlier schema: the baseline is then all there is to compare with, and the run says so.
  if [[ "$(git rev-parse --is-shallow-repository 2>/dev/null)" != false ]]; then
    echo "buf breaking: WARNING: no full git history here (not a git clone, or a shallow one); compared with scripts/schema-baseline.binpb only" >&2
    return 0
  fi
  # Every commit that touched proto/ (newest 25, to bound the time), HEAD's included: the working
  # tree is what is checked, so an uncommitted change is compared with HEAD too.
  shas="$(git log --format=%H -n 25 HEAD -- proto/)" || return 1
  for sha in $shas; do
    # Commits before the foundation schema landed hold no switchboard.v1 to compare.
    git cat-file -e "$sha:proto/switchboard/v1" 2>/dev/null || continue
    buf breaking --against ".git#ref=$sha" || { echo "buf breaking: incompatible with $sha" >&2; return 1; }
    n=$((n + 1))
  done
  if ((n == 0)); then echo "buf breaking: no commit holds proto/switchboard/v1 to compare with" >&2; return 1; fi
  echo "buf breaking: compatible with the baseline and $n schema commit(s)" >&2
}
check "buf breaking" breaking_against
check "generated code is current" bash scripts/generate.sh --check
# vitest runs TypeScript without checking its types; this does, for server, tests and bench alike.
check "typescript types" tsc --noEmit -p tsconfig.json
# Against the commit, untracked files included: a vendored file missing from it is a difference too.
check "vendored protos are current" bash -c 'bash scripts/vendor-protos.sh && out="$(git status --porcelain -- proto/grpc)" && { [[ -z "$out" ]] || { echo "$out"; false; }; }'

log "vitest"
# Counts come from scripts/vitest-counts.ts, which also counts what vitest's totals leave out (a
# file that did not load or whose beforeAll threw, tests a dead worker never finished, errors
# outside any test). --allowOnly=false: a committed `.only` fails the run instead of quietly
# skipping the rest of its file (vitest allows it unless CI is set in the environment).
VITEST_COUNTS_FILE="$work/vitest.counts" vitest run --allowOnly=false --reporter=default --reporter=./scripts/vitest-counts.ts >&2
vitest_rc=$?
if [[ -s "$work/vitest.counts" ]] && read -r p f s <"$work/vitest.counts" && [[ "$p $f $s" =~ ^[0-9]+\ [0-9]+\ [0-9]+$ ]]; then
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  # vitest failed yet counted no failure (e.g. a bad config): count it.
  [[ $vitest_rc -ne 0 && $f -eq 0 ]] && failed=$((failed + 1))
else
  failed=$((failed + 1))
fi

log "gateway for the client tests (embedded default: PGlite, in-process state)"
port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
# Its bootstrap admin key is chosen here (a fresh, well-formed secret) and handed to the client
# tests as SWITCHBOARD_KEY.
SWITCHBOARD_KEY="$(node --import tsx -e 'import("./server/auth/key-format.ts").then((m) => console.log(m.generateSecret()))')"
export SWITCHBOARD_KEY
env -u DATABASE_URL -u REDIS_URL SWITCHBOARD_PORT="$port" SWITCHBOARD_DATA_DIR="$work/pglite" SWITCHBOARD_LOG_LEVEL=warn \
  SWITCHBOARD_BOOTSTRAP_KEY="$SWITCHBOARD_KEY" node --import tsx server/main.ts >"$work/gateway.log" 2>&1 &
gateway_pid=$!
export SWITCHBOARD_URL="http://127.0.0.1:$port"
for _ in $(seq 1 200); do
  curl -fsS -o /dev/null -X POST -H 'content-type: application/json' -d '{}' "$SWITCHBOARD_URL/grpc.health.v1.Health/Check" 2>/dev/null && break
  kill -0 "$gateway_pid" 2>/dev/null || break
  sleep 0.1
done
if curl -fsS -o /dev/null -X POST -H 'content-type: application/json' -d '{}' "$SWITCHBOARD_URL/grpc.health.v1.Health/Check"; then
  log "Go and Python clients"
  clients_line="$(bash scripts/test-clients.sh)"
  echo "$clients_line" >&2
  if [[ "$clients_line" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]]; then
    passed=$((passed + BASH_REMATCH[1])) failed=$((failed + BASH_REMATCH[2])) skipped=$((skipped + BASH_REMATCH[3]))
  else
    failed=$((failed + 1))
  fi
else
  echo "the gateway did not start; its output:" >&2
  cat "$work/gateway.log" >&2
  failed=$((failed + 1))
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
