#!/usr/bin/env bash
# Install (from Debian's packages) and start a PostgreSQL server on 127.0.0.1:5432 with role and
# database `replenish` (password `replenish`), as the tests' `pg_url` fixture expects.
# Idempotent: safe to run again when the server is already installed, running or both.
set -euo pipefail

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq >/dev/null
    as_root apt-get install -y -qq postgresql >/dev/null
fi

version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
cluster=main
if ! pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c' | grep -q .; then
    as_root pg_createcluster --port 5432 "$version" "$cluster" >/dev/null
fi
# A drop-in file (Debian's postgresql.conf includes conf.d/) leaves the packaged file untouched.
conf_dir="/etc/postgresql/$version/$cluster/conf.d"
settings="listen_addresses = '127.0.0.1'
port = 5432"
if [ "$(cat "$conf_dir/replenish.conf" 2>/dev/null)" != "$settings" ]; then
    printf '%s\n' "$settings" | as_root tee "$conf_dir/replenish.conf" >/dev/null
    if pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c && $4 == "online"' \
        | grep -q .; then
        as_root pg_ctlcluster "$version" "$cluster" restart
    fi
fi

if ! pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c && $4 == "online"' \
    | grep -q .; then
    as_root pg_ctlcluster "$version" "$cluster" start
fi

for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
done
pg_isready -q -h 127.0.0.1 -p 5432 || { echo "postgres.sh: server did not start" >&2; exit 1; }

psql_admin() {
    as_postgres psql -p 5432 -X -q -t -A -v ON_ERROR_STOP=1 "$@"
}
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'replenish'")" != "1" ]; then
    psql_admin -c "CREATE ROLE replenish LOGIN PASSWORD 'replenish'"
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'replenish'")" != "1" ]; then
    psql_admin -c "CREATE DATABASE replenish OWNER replenish"
fi
