#!/usr/bin/env bash
# Runs the Go and Python client tests against a running Switchboard server:
#   clients/go      go test -json ./...   (package switchboard over connect-go: unit tests, then
#                                          verbs, admin RPCs and typed errors over Connect and gRPC)
#   clients/python  pytest                (package switchboard_client over connectrpc, sync and async)
#
#   SWITCHBOARD_URL=http://127.0.0.1:PORT SWITCHBOARD_KEY=sb_live_... scripts/test-clients.sh
#
# The server must already be running at SWITCHBOARD_URL (Connect and gRPC-Web over HTTP/1.1, gRPC
# over h2c prior knowledge, on the same port), with its sandbox routes (the embedded default with
# no provider credential), and SWITCHBOARD_KEY must be an admin key of it (scripts/test.sh starts
# one with a bootstrap key it chose). Tools come from scripts/tools.sh (run here, a no-op when
# current); gen/go and gen/python must be generated (scripts/generate.sh).
#
# Human-readable output goes to stderr. stdout gets exactly one line, summed over both runners:
#   clients: P passed, F failed, S skipped
# Exit status is non-zero if any test failed or a runner errored; a runner error (build failure,
# pytest usage/internal error, pytest exit 5 "no tests collected", ...) counts as one failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

log() { printf 'test-clients: %s\n' "$*" >&2; }

if [[ -z "${SWITCHBOARD_URL:-}" ]]; then
  log "error: SWITCHBOARD_URL is not set; start a Switchboard server and set it to its base URL, e.g. SWITCHBOARD_URL=http://127.0.0.1:8080"
  exit 2
fi
export SWITCHBOARD_URL
if [[ -z "${SWITCHBOARD_KEY:-}" ]]; then
  log "error: SWITCHBOARD_KEY is not set; set it to an admin key of the server at SWITCHBOARD_URL (the bootstrap key its first start printed, or the SWITCHBOARD_BOOTSTRAP_KEY it was started with)"
  exit 2
fi
export SWITCHBOARD_KEY

bash "$ROOT/scripts/tools.sh"
command -v go >/dev/null 2>&1 || PATH="/usr/local/go/bin:$PATH"
PY="$ROOT/.tools/venv/bin/python"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

passed=0 failed=0 skipped=0
add_counts() { # FILE with "P F S"
  local p f s
  read -r p f s <"$1"
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

# ---- Go -----------------------------------------------------------------------------------------
# Every generated package must compile, not only the ones the smoke test imports.
log "go build ./... (gen/go)"
if ! (cd gen/go && go build ./... >&2); then
  log "error: gen/go does not build"
  failed=$((failed + 1))
fi

log "go test -json ./... (clients/go, SWITCHBOARD_URL=$SWITCHBOARD_URL)"
# Streams each event's Output to stderr and counts leaf tests (a parent whose subtests ran is not
# counted again); a package that fails with no failing test (build error, panic in init, ...) is
# one failure.
set +e
(cd clients/go && go test -json -count=1 -timeout 5m ./... 2>&1) | "$PY" -c '
import json, sys
status, pkg_fail, pkg_fail_tests = {}, set(), {}
for line in sys.stdin:
    try:
        ev = json.loads(line)
    except ValueError:
        sys.stderr.write(line)  # not JSON: go command output (e.g. build errors)
        continue
    if ev.get("Output"):
        sys.stderr.write(ev["Output"])
    action, pkg, test = ev.get("Action"), ev.get("Package", ""), ev.get("Test")
    if action not in ("pass", "fail", "skip"):
        continue
    if test:
        status[(pkg, test)] = action
        if action == "fail":
            pkg_fail_tests[pkg] = pkg_fail_tests.get(pkg, 0) + 1
    elif action == "fail":
        pkg_fail.add(pkg)
sys.stderr.flush()
counts = {"pass": 0, "fail": 0, "skip": 0}
for (pkg, test), action in status.items():
    if not any(p == pkg and t.startswith(test + "/") for p, t in status):
        counts[action] += 1
counts["fail"] += sum(1 for p in pkg_fail if not pkg_fail_tests.get(p))
print(counts["pass"], counts["fail"], counts["skip"])
' >"$work/go.counts"
go_rc=("${PIPESTATUS[@]}")
set -e
if [[ "${go_rc[1]}" != 0 || ! -s "$work/go.counts" ]]; then
  log "error: could not read go test output"
  echo "0 1 0" >"$work/go.counts"
fi
read -r _ go_failed _ <"$work/go.counts"
if [[ "${go_rc[0]}" != 0 && "$go_failed" == 0 ]]; then
  log "error: go test exited ${go_rc[0]} with no failing test"
  echo "$(cut -d' ' -f1 "$work/go.counts") 1 $(cut -d' ' -f3 "$work/go.counts")" >"$work/go.counts"
fi
log "go: $(awk '{print $1" passed, "$2" failed, "$3" skipped"}' "$work/go.counts")"
add_counts "$work/go.counts"

# ---- Python -------------------------------------------------------------------------------------
log "pytest (clients/python)"
set +e
(cd clients/python && "$PY" -m pytest --junitxml="$work/junit.xml" -o junit_family=xunit2 >&2)
py_rc=$?
set -e
if [[ -s "$work/junit.xml" ]]; then
  "$PY" -c '
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = f = e = s = 0
for su in suites:
    t += int(su.get("tests", 0)); f += int(su.get("failures", 0))
    e += int(su.get("errors", 0)); s += int(su.get("skipped", 0))
print(t - f - e - s, f + e, s)
' "$work/junit.xml" >"$work/py.counts"
else
  echo "0 0 0" >"$work/py.counts"
fi
read -r _ py_failed _ <"$work/py.counts"
case "$py_rc" in
  0) ;;
  1) [[ "$py_failed" != 0 ]] || { log "error: pytest exited 1 with no failure recorded"; py_failed=x; } ;;
  5) log "error: pytest collected no tests (exit 5)"; py_failed=x ;;
  *) log "error: pytest exited $py_rc (interrupted, internal or usage error)"; py_failed=x ;;
esac
if [[ "$py_failed" == x ]]; then
  read -r p f s <"$work/py.counts"
  echo "$p $((f + 1)) $s" >"$work/py.counts"
fi
log "python: $(awk '{print $1" passed, "$2" failed, "$3" skipped"}' "$work/py.counts")"
add_counts "$work/py.counts"

# ---- summary ------------------------------------------------------------------------------------
echo "clients: $passed passed, $failed failed, $skipped skipped"
if ((failed > 0)); then
  exit 1
fi
