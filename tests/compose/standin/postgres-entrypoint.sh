#!/bin/sh
# The official postgres image's first-start contract, in short: a new data directory is
# initialised with POSTGRES_USER (superuser, password auth over TCP) and POSTGRES_DB, the
# *.sql files of /docker-entrypoint-initdb.d run once, then postgres runs as user postgres.
set -eu
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
mkdir -p "$PGDATA" /run/postgresql
chown -R postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp); printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"; chown postgres "$pwfile"
  as_pg initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" -A scram-sha-256 \
    --auth-local=trust --encoding=UTF8 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  as_pg pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -k /run/postgresql" start >/dev/null
  if [ "${POSTGRES_DB:-$POSTGRES_USER}" != "postgres" ]; then
    as_pg psql -h /run/postgresql -U "$POSTGRES_USER" -d postgres -v ON_ERROR_STOP=1 \
      -c "CREATE DATABASE \"${POSTGRES_DB:-$POSTGRES_USER}\""
  fi
  for f in /docker-entrypoint-initdb.d/*.sql; do
    [ -e "$f" ] || continue
    echo "running $f"
    as_pg psql -h /run/postgresql -U "$POSTGRES_USER" -d "${POSTGRES_DB:-$POSTGRES_USER}" \
      -v ON_ERROR_STOP=1 -f "$f"
  done
  as_pg pg_ctl -D "$PGDATA" -w -m fast stop >/dev/null
fi
if [ "$1" = "postgres" ]; then
  shift
  exec setpriv --reuid=postgres --regid=postgres --init-groups postgres \
    -c listen_addresses="${POSTGRES_LISTEN:-*}" -k /run/postgresql "$@"
fi
exec "$@"
