#!/usr/bin/env bash
# Benchmark: one PostgreSQL backup of a ~650 MB database of realistic, mixed data, taken by Backstop end
# to end (HTTP request -> pg_dump -> tar.gz -> archive store -> listed as done) against the naive
# `pg_dump -Fc > file`, in the same run, on the same database. Writes the result to docs/benchmarks.md.
#
#   bench/pg-backup.sh [--rows N]      (default 2,600,000 rows, about 650 MB on disk)
#
# Needs the local PostgreSQL (127.0.0.1:5432, user postgres, trust auth), curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=2600000
[ "${1:-}" = "--rows" ] && ROWS="$2"
PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres
export PGHOST PGPORT PGUSER
DB=backstop_bench_${ROWS}
WORK=bench/work
PORT=18181
mkdir -p "$WORK"

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
now() { date +%s.%N; }

if ! psql -XtAc "select 1 from pg_database where datname='$DB'" postgres | grep -q 1; then
  log "creating $DB with $ROWS rows of mixed data (once; kept for later runs)"
  psql -Xq -v ON_ERROR_STOP=1 postgres -c "CREATE DATABASE $DB"
  # Mixed, realistically compressible data: hex digests, numbers, timestamps, words from a small
  # vocabulary, JSON documents. pgbench's blank filler would compress unrealistically well.
  psql -Xq -v ON_ERROR_STOP=1 "$DB" <<SQL
CREATE TABLE customers(id int PRIMARY KEY, email text, name text, country text, created timestamptz);
INSERT INTO customers SELECT g, md5(g::text) || '@example.com',
  (array['Ada','Alan','Grace','Linus','Barbara','Ken','Dennis','Margaret'])[1 + g % 8] || ' ' || substr(md5((g*7)::text), 1, 8),
  (array['FR','DE','US','JP','BR','IN','NG','CA'])[1 + g % 8], now() - (g || ' minutes')::interval
FROM generate_series(1, $ROWS / 10) g;
CREATE TABLE orders(id bigint PRIMARY KEY, customer int, total numeric(12,2), status text, placed timestamptz,
  items jsonb, note text);
INSERT INTO orders SELECT g, 1 + g % ($ROWS / 10), round((random() * 500)::numeric, 2),
  (array['paid','shipped','delivered','refunded','cancelled'])[1 + g % 5], now() - (g || ' seconds')::interval,
  jsonb_build_object('sku', upper(substr(md5(g::text), 1, 10)), 'qty', 1 + g % 7, 'price', (g % 1000) / 10.0,
                     'tags', jsonb_build_array('promo', 'gift', 'express')),
  'order ' || g || ' ' || md5(random()::text) || ' ' || (array['please deliver before noon','leave at the door','call on arrival',''])[1 + g % 4]
FROM generate_series(1, $ROWS) g;
CREATE INDEX ON orders(customer);
ANALYZE;
SQL
fi
DB_BYTES=$(psql -XtAc "select pg_database_size('$DB')" postgres)
log "database $DB: $((DB_BYTES / 1024 / 1024)) MiB"

baseline() {
  local t0 t1
  t0=$(now); pg_dump -Fc -d "$DB" > "$WORK/baseline.pgsql"; t1=$(now)
  echo "$(echo "$t1 - $t0" | bc) $(stat -c %s "$WORK/baseline.pgsql")"
}

log "baseline: pg_dump -Fc > file"
read -r BASE_S BASE_BYTES < <(baseline)
log "baseline took ${BASE_S}s, $BASE_BYTES bytes"

log "starting Backstop embedded"
DATA=$(mktemp -d)
./dev run --data-dir "$DATA" --port $PORT > "$WORK/backstop.log" 2>&1 &
BACKSTOP=$!
trap 'kill $BACKSTOP 2>/dev/null; wait $BACKSTOP 2>/dev/null; rm -rf "$DATA"; true' EXIT
for _ in $(seq 1 120); do curl -fs "localhost:$PORT/actuator/health" >/dev/null && break; sleep 1; done
TOKEN=$(cat "$DATA/operator-token")
curl -fsS -o /dev/null -X PUT "localhost:$PORT/v1/addons/bench" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d "{\"appName\":\"bench\",\"engine\":\"postgresql\",\"plan\":\"starter\",\"database\":\"$DB\",\"user\":\"postgres\",\"password\":\"unused\",
       \"nodes\":[{\"role\":\"primary\",\"host\":\"127.0.0.1\",\"port\":5432}]}"

log "Backstop: request -> stored archive"
T0=$(now)
ID=$(curl -fsS -X POST -H "Authorization: Bearer $TOKEN" "localhost:$PORT/v1/apps/bench/addons/bench/backups" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
while true; do
  STATUS=$(curl -fsS -H "Authorization: Bearer $TOKEN" "localhost:$PORT/v1/apps/bench/addons/bench/backups/$ID")
  case "$STATUS" in *'"status":"done"'*|*'"status":"failed"'*) break ;; esac
  sleep 0.2
done
T1=$(now)
echo "$STATUS" | grep -q '"status":"done"' || { echo "backup failed: $STATUS" >&2; exit 1; }
BS_S=$(echo "$T1 - $T0" | bc)
BS_BYTES=$(echo "$STATUS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')
log "Backstop took ${BS_S}s, $BS_BYTES bytes"

log "baseline again, to see the run-to-run spread"
read -r BASE2_S _ < <(baseline)

ROWS=$(python3 - "$DB_BYTES" "$BASE_S" "$BASE2_S" "$BASE_BYTES" "$BS_S" "$BS_BYTES" <<'PY'
import sys, datetime
db, b1, b2, bbytes, s, sbytes = sys.argv[1:]
db, b1, b2, bbytes, s, sbytes = int(db), float(b1), float(b2), int(bbytes), float(s), int(sbytes)
base = min(b1, b2)
mib = lambda n: n / 1024 / 1024
print(f"| {datetime.date.today()} | {mib(db):.0f} MiB | `pg_dump -Fc > file` | {b1:.1f} s / {b2:.1f} s | {mib(db)/base:.1f} MiB/s | {mib(bbytes):.0f} MiB | 1.00 |")
print(f"| {datetime.date.today()} | {mib(db):.0f} MiB | Backstop: request → archive stored, listed done | {s:.1f} s | {mib(db)/s:.1f} MiB/s | {mib(sbytes):.0f} MiB | {base/s:.2f} |")
PY
)
bench/record.py "pg-backup results" "$(cat <<'MD'
## PostgreSQL backup, end to end (`bench/pg-backup.sh`)

Same database, same run, on this 2-core machine. Throughput is database size on disk / wall time; ratio is the best baseline time / Backstop time (higher is better).

| date | database | what | time | throughput | output | ratio |
|---|---|---|---|---|---|---|
MD
)" "$ROWS"
