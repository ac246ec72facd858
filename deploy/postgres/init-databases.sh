#!/usr/bin/env bash
# One database and one owner role per service (chungtay_registry, chungtay_support, chungtay_emulation,
# chungtay_reporting, chungtay_gateway), each role reaching only its own database.
# The postgres image runs this once, on an empty data volume (/docker-entrypoint-initdb.d); it is
# idempotent and can be run by hand with psql's PG* variables (PGHOST, PGPORT, ...).
# Passwords: <SERVICE>_DB_PASSWORD (e.g. REGISTRY_DB_PASSWORD), required.
set -euo pipefail

for service in registry support emulation reporting gateway; do
    variable="${service^^}_DB_PASSWORD"
    password="${!variable:?set $variable}"
    psql --no-psqlrc -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
        -v role="chungtay_${service}" -v password="${password}" -v db="chungtay_${service}" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'db', :'role', 'UTF8')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
-- No service reads another service's tables: only the owner may connect.
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SQL
    echo "init-databases: chungtay_${service} ready"
done
