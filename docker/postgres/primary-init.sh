#!/bin/bash
# Runs once, when the primary's data directory is created: a role and hba lines for replication.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v pw="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'pw';
SQL
# the replica's role, and the addon's own user: Backstop's WAL archiver streams through a slot of its own
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
echo "host replication postgres all scram-sha-256" >> "$PGDATA/pg_hba.conf"
