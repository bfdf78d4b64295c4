#!/bin/bash
# Streaming replica of pg-primary: clone it on first start (pg_basebackup -R writes standby.signal
# and primary_conninfo), then run as a hot standby. The password comes from the environment, not argv.
set -euo pipefail
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  export PGPASSWORD="$REPLICATION_PASSWORD"
  until pg_isready -h pg-primary -p 5432 -q; do sleep 1; done
  # a recreated replica volume finds its slot still on the primary, and `pg_basebackup -C` refuses an
  # existing slot: drop it first when no standby is using it
  psql -h pg-primary -p 5432 -U replicator -d postgres -v ON_ERROR_STOP=1 -qAtc \
    "select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = 'backstop_replica' and not active"
  rm -rf "${PGDATA:?}"/*
  pg_basebackup -h pg-primary -p 5432 -U replicator -D "$PGDATA" -R -X stream -c fast -C -S backstop_replica
  unset PGPASSWORD
  chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on -c hot_standby_feedback=on
