#!/usr/bin/env bash
# Brings up throwaway Postgres 15 and Redis 7 on loopback for tests, idempotently.
#
#   eval "$(bash scripts/services.sh up)"   # prints `export DATABASE_URL=…` and `export REDIS_URL=…`
#   bash scripts/services.sh down           # stops what `up` started
#
# A variable that is already set in the environment is reused and its service is not started.
# Missing Debian packages (postgresql, redis-server) are installed when running as root; otherwise
# the script stops and names them. State (data, sockets, logs, chosen ports) lives in
# .test-services/ at the repo root (gitignored), so a second `up` reuses the running instances.
# Only the export lines go to stdout; every diagnostic goes to stderr.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE="$ROOT/.test-services"
PG_DIR="$STATE/postgres"
REDIS_DIR="$STATE/redis"

log() { echo "services: $*" >&2; }
die() { echo "services: error: $*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# Runs a Postgres server binary as the postgres user when we are root (initdb and postgres refuse
# to run as root), or as ourselves otherwise.
as_pg() {
  if is_root; then runuser -u postgres -- "$@" 9>&-; else "$@" 9>&-; fi
}

# Prints the directory holding initdb/pg_ctl. pg_config --bindir may point at /usr/bin (no
# server binaries there) or be missing, so verify and fall back to Debian's versioned layout.
pg_bindir() {
  local dir
  if command -v pg_config >/dev/null 2>&1; then
    dir="$(pg_config --bindir 2>/dev/null || true)"
    if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
  fi
  if [ -x /usr/lib/postgresql/15/bin/initdb ]; then echo /usr/lib/postgresql/15/bin; return 0; fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
  done
  return 1
}

# Prints a currently free loopback TCP port chosen by the kernel.
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{process.stdout.write(String(s.address().port));s.close();});'
}

# Succeeds when nothing listens on 127.0.0.1:$1.
port_free() {
  node -e 'const s=require("net").createServer();s.once("error",()=>process.exit(1));s.listen(Number(process.argv[1]),"127.0.0.1",()=>s.close(()=>process.exit(0)));' "$1"
}

ensure_packages() {
  local need_pg="$1" need_redis="$2" missing=()
  if [ "$need_pg" = 1 ] && ! pg_bindir >/dev/null; then missing+=(postgresql); fi
  if [ "$need_redis" = 1 ] && ! command -v redis-server >/dev/null 2>&1; then missing+=(redis-server); fi
  [ "${#missing[@]}" -eq 0 ] && return 0
  if ! is_root || ! command -v apt-get >/dev/null 2>&1; then
    die "missing ${missing[*]}: install them (Debian: sudo apt-get install -y ${missing[*]}), or set DATABASE_URL / REDIS_URL to running services"
  fi
  log "installing ${missing[*]} with apt-get"
  local apt_log="$STATE/apt.log"
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
    >"$apt_log" 2>&1 || { tail -n 30 "$apt_log" >&2; die "apt-get install ${missing[*]} failed (log: $apt_log)"; }
  if [ "$need_pg" = 1 ]; then pg_bindir >/dev/null || die "postgresql installed but initdb not found"; fi
  if [ "$need_redis" = 1 ]; then command -v redis-server >/dev/null 2>&1 || die "redis-server installed but not on PATH"; fi
}

# Waits until a TCP connection to 127.0.0.1:$1 succeeds, for at most $2 seconds.
wait_tcp() {
  local port="$1" deadline=$((SECONDS + $2))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

pg_running() {
  [ -f "$PG_DIR/data/PG_VERSION" ] && as_pg "$BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1
}

# Starts (or reuses) the Postgres instance and prints its URL.
up_postgres() {
  BIN="$(pg_bindir)"
  local port=""
  [ -f "$PG_DIR/port" ] && port="$(cat "$PG_DIR/port")"
  if [ -n "$port" ] && pg_running && "$BIN/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    log "postgres already running on 127.0.0.1:$port"
  else
    mkdir -p "$PG_DIR/socket"
    if is_root; then
      chown -R postgres: "$PG_DIR"
      runuser -u postgres -- test -w "$PG_DIR" \
        || die "user postgres cannot write $PG_DIR (a parent directory is not traversable); set DATABASE_URL instead"
    fi
    if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
      log "initdb in $PG_DIR/data"
      rm -rf "$PG_DIR/data"
      as_pg "$BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
    fi
    if pg_running; then as_pg "$BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >&2 || true; fi
    if [ -z "$port" ] || ! port_free "$port"; then port="$(free_port)"; fi
    log "starting postgres on 127.0.0.1:$port"
    as_pg "$BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR/socket -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      -w -t 60 start >&2 || { tail -n 30 "$PG_DIR/server.log" >&2 || true; die "postgres failed to start"; }
    echo "$port" >"$PG_DIR/port"
  fi
  local deadline=$((SECONDS + 30))
  until "$BIN/pg_isready" -q -h 127.0.0.1 -p "$port"; do
    [ "$SECONDS" -lt "$deadline" ] || die "postgres on port $port is not accepting connections"
    sleep 0.1
  done
  echo "postgres://postgres@127.0.0.1:$port/postgres"
}

redis_ping() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
  else
    wait_tcp "$1" 0
  fi
}

redis_pid_alive() {
  [ -f "$REDIS_DIR/redis.pid" ] && kill -0 "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null
}

# Starts (or reuses) the Redis instance and prints its URL.
up_redis() {
  local port=""
  [ -f "$REDIS_DIR/port" ] && port="$(cat "$REDIS_DIR/port")"
  if [ -n "$port" ] && redis_pid_alive && redis_ping "$port"; then
    log "redis already running on 127.0.0.1:$port"
  else
    mkdir -p "$REDIS_DIR"
    if redis_pid_alive; then kill "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null || true; sleep 0.2; fi
    rm -f "$REDIS_DIR/redis.pid"
    if [ -z "$port" ] || ! port_free "$port"; then port="$(free_port)"; fi
    log "starting redis on 127.0.0.1:$port"
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes \
      --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/server.log" >&2 9>&- \
      || die "redis failed to start (see $REDIS_DIR/server.log)"
    echo "$port" >"$REDIS_DIR/port"
  fi
  local deadline=$((SECONDS + 30))
  until redis_ping "$port"; do
    [ "$SECONDS" -lt "$deadline" ] || { tail -n 30 "$REDIS_DIR/server.log" >&2 || true; die "redis on port $port is not answering"; }
    sleep 0.1
  done
  echo "redis://127.0.0.1:$port"
}

cmd_up() {
  local need_pg=0 need_redis=0 db_url redis_url
  [ -n "${DATABASE_URL:-}" ] || need_pg=1
  [ -n "${REDIS_URL:-}" ] || need_redis=1
  ensure_packages "$need_pg" "$need_redis"
  if [ "$need_pg" = 1 ]; then db_url="$(up_postgres)"; else db_url="$DATABASE_URL"; log "reusing DATABASE_URL from the environment"; fi
  if [ "$need_redis" = 1 ]; then redis_url="$(up_redis)"; else redis_url="$REDIS_URL"; log "reusing REDIS_URL from the environment"; fi
  local exports
  exports="$(printf 'export DATABASE_URL=%q\nexport REDIS_URL=%q\n' "$db_url" "$redis_url")"
  echo "$exports" >"$STATE/env"
  echo "$exports"
}

cmd_down() {
  if [ -f "$PG_DIR/data/PG_VERSION" ]; then
    if BIN="$(pg_bindir)" && pg_running; then
      log "stopping postgres"
      as_pg "$BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >&2 || true
    fi
  fi
  if redis_pid_alive; then
    log "stopping redis"
    local pid
    pid="$(cat "$REDIS_DIR/redis.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$STATE/env"
}

main() {
  mkdir -p "$STATE"
  # Serialize concurrent invocations (two test runs starting together must not race initdb).
  # Daemons are started with fd 9 closed so they do not inherit (and hold) this lock.
  exec 9>"$STATE/.lock"
  if command -v flock >/dev/null 2>&1; then flock 9; fi
  case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    *) die "usage: bash scripts/services.sh up|down" ;;
  esac
}

main "$@"
