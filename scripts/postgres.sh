# shellcheck shell=bash
# ensure_postgres: make a PostgreSQL server answer for the tests, never relying on an earlier run.
#   1. the server at 127.0.0.1:5432 (user postgres, trust auth) if it answers;
#   2. otherwise start the machine's cluster (pg_ctlcluster);
#   3. otherwise start a private server from /usr/lib/postgresql/*/bin in a temporary directory
#      and export ATQB_TEST_POSTGRES_URL for the tests; it is stopped when the shell exits.

_pg_answers() {
  "${PG_ISREADY:-pg_isready}" -q -h "$1" -p "$2" -U postgres >/dev/null 2>&1 ||
    .venv/bin/python - "$1" "$2" <<'PY' >/dev/null 2>&1
import sys, psycopg
psycopg.connect(host=sys.argv[1], port=int(sys.argv[2]), user="postgres", dbname="postgres", connect_timeout=3).close()
PY
}

ensure_postgres() {
  if [ -n "${ATQB_TEST_POSTGRES_URL:-}" ]; then
    return 0
  fi
  if _pg_answers 127.0.0.1 5432; then
    return 0
  fi
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$version" ]; then
      echo "starting PostgreSQL $version (pg_ctlcluster)" >&2
      pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
      for _ in $(seq 1 30); do
        _pg_answers 127.0.0.1 5432 && return 0
        sleep 1
      done
    fi
  fi
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bin" ]; then
    echo "PostgreSQL is not running and no server binaries were found: install postgresql" >&2
    return 1
  fi
  local dir port runner
  dir=$(mktemp -d /tmp/atqb-pg.XXXXXX)
  port=55432
  runner=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"
    runner=(runuser -u postgres --)
  fi
  echo "starting a private PostgreSQL in $dir on port $port" >&2
  "${runner[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust >/dev/null
  "${runner[@]}" "$bin/pg_ctl" -D "$dir/data" -o "-p $port -k $dir -c listen_addresses=127.0.0.1" -l "$dir/log" -w start >/dev/null
  # shellcheck disable=SC2064
  trap "${runner[*]} $bin/pg_ctl -D $dir/data -m fast stop >/dev/null 2>&1; rm -rf $dir" EXIT
  export ATQB_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
}
