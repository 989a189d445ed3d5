#!/usr/bin/env bash
# Generates gen/ts, gen/go and gen/python from proto/.
#
#   scripts/generate.sh           regenerate in place
#   scripts/generate.sh --check   regenerate into a temporary copy and exit 1, listing the files
#                                 that differ, if the gen/ in this tree is not what proto/ gives
#                                 (CI runs this; commit gen/ after running the plain form)
#
# Templates (one per language, run in this order):
#   buf.gen.yaml         TypeScript: protoc-gen-es from node_modules (npm devDependency)
#   buf.gen.go.yaml      Go: protoc-gen-go + protoc-gen-connect-go from .tools/bin
#   buf.gen.python.yaml  Python: protoc builtins python/pyi + protoc-gen-connectrpc
# The Go and Python tools are pinned and installed by scripts/tools.sh, which this script runs
# first (a no-op when they are current). buf itself is the npm one (node_modules/.bin/buf, what
# `npx buf` runs); PATH gets node_modules/.bin, .tools/bin and .tools/venv/bin in front.
#
# gen/go is a Go module: buf's `clean: true` deletes gen/go entirely, so gen/go/go.mod and
# go.sum are saved and put back, then `go mod tidy` keeps go.sum in step with the generated
# imports. On a tree with no gen/go/go.mod yet, one is written from the pins below.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

GEN_GO_MODULE="github.com/switchboard-ai/switchboard/gen/go"
GEN_GO_GO_VERSION="1.26.0"   # connectrpc.com/connect v1.21 requires go 1.26.0
# Must equal the plugin versions in scripts/tools.sh.
GEN_GO_REQUIRES=(
  "google.golang.org/protobuf v1.36.12"
  "connectrpc.com/connect v1.21.1"
)

log() { printf 'generate: %s\n' "$*" >&2; }
die() { printf 'generate: error: %s\n' "$*" >&2; exit 1; }

mode=write
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  *) die "usage: scripts/generate.sh [--check]" ;;
esac

[[ -x "$ROOT/node_modules/.bin/buf" ]] || die "node_modules/.bin/buf missing: run npm ci first"
bash "$ROOT/scripts/tools.sh"

command -v go >/dev/null 2>&1 || PATH="/usr/local/go/bin:$PATH"
export PATH="$ROOT/node_modules/.bin:$ROOT/.tools/bin:$ROOT/.tools/venv/bin:$PATH"

write_go_mod() {
  local dir="$1" req
  {
    printf 'module %s\n\ngo %s\n\nrequire (\n' "$GEN_GO_MODULE" "$GEN_GO_GO_VERSION"
    for req in "${GEN_GO_REQUIRES[@]}"; do printf '\t%s\n' "$req"; done
    printf ')\n'
  } >"$dir/go.mod"
}

# generate_in DIR: run all three templates with DIR as the working directory.
generate_in() {
  local dir="$1" keep
  keep="$(mktemp -d)"
  (
    cd "$dir"
    for f in go.mod go.sum; do
      if [[ -f "gen/go/$f" ]]; then cp "gen/go/$f" "$keep/$f"; fi
    done

    log "TypeScript (buf.gen.yaml)"
    buf generate
    log "Go (buf.gen.go.yaml)"
    buf generate --template buf.gen.go.yaml
    log "Python (buf.gen.python.yaml)"
    buf generate --template buf.gen.python.yaml

    if [[ -f "$keep/go.mod" ]]; then
      cp "$keep/go.mod" gen/go/go.mod
    else
      log "no gen/go/go.mod yet: writing one from the pins in scripts/generate.sh"
      write_go_mod gen/go
    fi
    if [[ -f "$keep/go.sum" ]]; then cp "$keep/go.sum" gen/go/go.sum; fi
    log "go mod tidy (gen/go)"
    (cd gen/go && GOFLAGS=-mod=mod go mod tidy)
  )
  rm -rf "$keep"
}

if [[ "$mode" == write ]]; then
  generate_in "$ROOT"
  log "done: gen/ts gen/go gen/python"
  exit 0
fi

# --check: copy the inputs into a scratch tree, generate there, compare with ours.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cp -R proto "$scratch/proto"
for f in buf.yaml buf.lock buf.gen.yaml buf.gen.go.yaml buf.gen.python.yaml; do
  if [[ -f "$f" ]]; then cp "$f" "$scratch/$f"; fi
done
mkdir -p "$scratch/gen/go"
for f in go.mod go.sum; do
  if [[ -f "gen/go/$f" ]]; then cp "gen/go/$f" "$scratch/gen/go/$f"; fi
done
# Templates name plugins relative to the working directory (.tools/bin/..., node_modules).
ln -s "$ROOT/.tools" "$scratch/.tools"
ln -s "$ROOT/node_modules" "$scratch/node_modules"
generate_in "$scratch"

status=0
differ=()
for lang in ts go python; do
  if [[ ! -d "gen/$lang" ]]; then
    differ+=("gen/$lang (missing)")
    continue
  fi
  while IFS= read -r line; do
    differ+=("$line")
  done < <(diff -rq -x __pycache__ -x "*.pyc" "gen/$lang" "$scratch/gen/$lang" 2>&1 |
    sed -e "s#^Only in $scratch/\(.*\): \(.*\)\$#\1/\2 (missing: generated, not in the tree)#" \
        -e 's#^Only in \(gen/.*\): \(.*\)$#\1/\2 (stale: no longer generated)#' \
        -e "s#^Files \(.*\) and $scratch/.* differ\$#\1 (differs)#" || true)
done

if ((${#differ[@]})); then
  printf 'generate --check: gen/ is not up to date with proto/ (run scripts/generate.sh and commit):\n' >&2
  printf '  %s\n' "${differ[@]}" >&2
  status=1
else
  log "check: gen/ is up to date"
fi
exit "$status"
