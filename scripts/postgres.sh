#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: `scripts/postgres.sh start DIR` makes one in DIR (initdb as the
# postgres user when run as root, as initdb refuses root), starts it on a free loopback port and prints its URL;
# `scripts/postgres.sh stop DIR` stops it and removes DIR. `pause DIR` and `resume DIR` stop the server and start it
# again on the same port with the same data (for tests of a database that goes away under load).
set -euo pipefail
command="${1:?usage: postgres.sh start|stop|pause|resume DIR}"
dir="${2:?usage: postgres.sh start|stop DIR}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$bin/initdb" ] || { echo "postgres.sh: PostgreSQL's initdb is not installed (apt-get install postgresql)" >&2; exit 2; }
as_owner=()
if [ "$(id -u)" = 0 ]; then as_owner=(runuser -u postgres --); fi

case "$command" in
start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    # Connections over TCP give a password (SCRAM), as a deployment's would; the socket in DIR is trusted.
    password="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
    (umask 077; echo "$password" >"$dir/password")
    [ "$(id -u)" = 0 ] && chown postgres "$dir/password"
    "${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U meridian --pwfile="$dir/password" --auth-host=scram-sha-256 \
        --auth-local=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    echo "$port" >"$dir/port"
    "$0" resume "$dir"
    echo "postgresql://meridian:$password@127.0.0.1:$port/postgres?sslmode=disable"
    ;;
resume)
    port="$(cat "$dir/port")"
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=300" start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    ;;
pause)
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
stop)
    if [ -d "$dir/data" ]; then "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true; fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: postgres.sh start|stop|pause|resume DIR" >&2
    exit 2
    ;;
esac
