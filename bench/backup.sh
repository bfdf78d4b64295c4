#!/usr/bin/env bash
# Benchmark: backups of two PostgreSQL databases and one MariaDB database, taken by Backstop end to end
# (HTTP request -> dump -> zstd -> encrypted archive stored -> listed as done), against the stock tools
# in the same run, on the same databases:
#   PostgreSQL: `pg_dump -Fc > file` (the naive backup) and `pg_dump -Fc -Z0 > /dev/null` (the limit)
#   MariaDB:    `mysqldump > file`
# The databases: ~750 MB of mixed orders (JSON, numbers, timestamps, some digests), ~650 MB of text
# notes made of hex digests (the md5-text data of ../shared/STACK.md, as hard to compress as real prose
# or tokens), and ~500 MB of mixed orders in MariaDB. Writes the result to docs/benchmarks.md.
#
#   bench/backup.sh [--rows N] [--prepare]
#     --rows N    orders in the mixed database (default 2,600,000, about 750 MB on disk)
#     --prepare   only create the databases (kept for later runs), measure nothing
#
# Needs the local PostgreSQL (127.0.0.1:5432, user postgres, trust auth), the local MariaDB
# (127.0.0.1:3306, root without password), curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=2600000 PREPARE=
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    --prepare) PREPARE=1; shift ;;
    *) echo "usage: bench/backup.sh [--rows N] [--prepare]" >&2; exit 2 ;;
  esac
done
PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres
export PGHOST PGPORT PGUSER
DB=backstop_bench_${ROWS}
NOTES=$((ROWS * 11 / 10))   # about 650 MB on disk for the default
TEXTDB=backstop_bench_text_${NOTES}
MY_ROWS=$((ROWS * 10 / 13))   # about 500 MB on disk for the default
MYDB=backstop_bench_my_${MY_ROWS}
MY="mysql -h 127.0.0.1 -P 3306 -u root --protocol=TCP"
MYDUMP="mysqldump -h 127.0.0.1 -P 3306 -u backstop_bench --protocol=TCP --single-transaction --quick --no-tablespaces --routines --events --triggers"
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
if ! psql -XtAc "select 1 from pg_database where datname='$TEXTDB'" postgres | grep -q 1; then
  log "creating $TEXTDB with $NOTES notes of hex-digest text (once; kept for later runs)"
  psql -Xq -v ON_ERROR_STOP=1 postgres -c "CREATE DATABASE $TEXTDB"
  # gzip (pg_dump -Fc) manages only about 2:1 on this and runs at ~20 MB/s: the case where the
  # compression stage, not the dump, sets the pace.
  psql -Xq -v ON_ERROR_STOP=1 "$TEXTDB" <<SQL
CREATE TABLE notes(id bigint PRIMARY KEY, author text, body text, digest text, created timestamptz);
INSERT INTO notes SELECT g, 'user' || (g % 50000),
  md5(g::text) || ' ' || md5((g * 3)::text) || ' ' || md5((g * 7)::text), md5((g * 11)::text),
  now() - (g || ' seconds')::interval
FROM generate_series(1, $NOTES) g;
ANALYZE;
SQL
fi
TEXT_BYTES=$(psql -XtAc "select pg_database_size('$TEXTDB')" postgres)
log "database $TEXTDB: $((TEXT_BYTES / 1024 / 1024)) MiB"

if ! $MY -N -e "SHOW DATABASES LIKE '$MYDB'" | grep -q "$MYDB"; then
  log "creating $MYDB with $MY_ROWS orders of mixed data (once; kept for later runs)"
  CUST=$((MY_ROWS / 10)) B=200000
  $MY -e "CREATE DATABASE $MYDB"
  $MY "$MYDB" <<SQL
CREATE TABLE customers(id int PRIMARY KEY, email varchar(64), name varchar(64), country char(2), created datetime) ENGINE=InnoDB;
CREATE TABLE orders(id bigint PRIMARY KEY, customer int, total decimal(12,2), status varchar(16), placed datetime,
  items text, note text, KEY(customer)) ENGINE=InnoDB;
SQL
  for ((off = 0; off < CUST; off += B)); do
    n=$((CUST - off < B ? CUST - off : B))
    $MY "$MYDB" -e "INSERT INTO customers SELECT g, concat(md5(g), '@example.com'),
      concat(elt(1 + g % 8,'Ada','Alan','Grace','Linus','Barbara','Ken','Dennis','Margaret'), ' ', substr(md5(g*7),1,8)),
      elt(1 + g % 8,'FR','DE','US','JP','BR','IN','NG','CA'), now() - interval g minute
      FROM (SELECT seq + $off AS g FROM seq_1_to_$n) s"
  done
  for ((off = 0; off < MY_ROWS; off += B)); do
    n=$((MY_ROWS - off < B ? MY_ROWS - off : B))
    $MY "$MYDB" -e "INSERT INTO orders SELECT g, 1 + g % $CUST, round(rand() * 500, 2),
      elt(1 + g % 5,'paid','shipped','delivered','refunded','cancelled'), now() - interval g second,
      json_object('sku', upper(substr(md5(g),1,10)), 'qty', 1 + g % 7, 'price', (g % 1000) / 10.0,
                  'tags', json_array('promo','gift','express')),
      concat('order ', g, ' ', md5(rand()), ' ', elt(1 + g % 4,'please deliver before noon','leave at the door','call on arrival',''))
      FROM (SELECT seq + $off AS g FROM seq_1_to_$n) s"
  done
  $MY "$MYDB" -e "ANALYZE TABLE customers, orders" >/dev/null
fi
# the worker connects with a password, as for a customer's database; the baseline uses the same account
$MY -e "CREATE USER IF NOT EXISTS 'backstop_bench'@'%' IDENTIFIED BY 'bench-pw';
        GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON $MYDB.* TO 'backstop_bench'@'%'"
MY_BYTES=$($MY -N -e "SELECT sum(data_length + index_length) FROM information_schema.tables WHERE table_schema = '$MYDB'")
log "database $MYDB: $((MY_BYTES / 1024 / 1024)) MiB"
[ -n "$PREPARE" ] && exit 0

# time_of CMD...: wall seconds of a shell pipeline (pipefail: a failed dump fails the bench)
time_of() { local t0 t1; t0=$(now); bash -o pipefail -c "$1"; t1=$(now); echo "$t1 - $t0" | bc; }

pg_fc()    { time_of "pg_dump -Fc -d $1 > $WORK/baseline.pgsql"; }
pg_limit() { time_of "pg_dump -Fc -Z0 -d $1 > /dev/null"; }
my_file()  { (export MYSQL_PWD=bench-pw; time_of "$MYDUMP $MYDB > $WORK/baseline.sql"); }
# the same over a binary connection, as Backstop dumps: how much of the difference is mysqldump's own CPU
my_binary() { (export MYSQL_PWD=bench-pw; time_of "$MYDUMP --default-character-set=binary $MYDB > $WORK/baseline.sql"); }

# backstop ADDON: seconds from the HTTP request to the backup listed done; prints "seconds size"
backstop() {
  local addon=$1 t0 t1 id status
  t0=$(now)
  id=$(curl -fsS -X POST -H "Authorization: Bearer $TOKEN" "localhost:$PORT/v1/apps/bench/addons/$addon/backups" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  while true; do
    status=$(curl -fsS -H "Authorization: Bearer $TOKEN" "localhost:$PORT/v1/apps/bench/addons/$addon/backups/$id")
    case "$status" in *'"status":"done"'*|*'"status":"failed"'*) break ;; esac
    sleep 0.1
  done
  t1=$(now)
  echo "$status" | grep -q '"status":"done"' || { echo "backup of $addon failed: $status" >&2; exit 1; }
  echo "$(echo "$t1 - $t0" | bc) $(echo "$status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')"
}

log "starting Backstop embedded"
DATA=$(mktemp -d)
# its own session: stopping it must not signal this script
setsid ./dev run --data-dir "$DATA" --port $PORT > "$WORK/backstop.log" 2>&1 &
BACKSTOP=$!
trap 'kill $BACKSTOP 2>/dev/null; wait $BACKSTOP 2>/dev/null; rm -rf "$DATA" "$WORK"/baseline.*; true' EXIT
for _ in $(seq 1 120); do curl -fs "localhost:$PORT/actuator/health" >/dev/null && break; sleep 1; done
TOKEN=$(cat "$DATA/operator-token")
register() { # addon engine database user port password
  curl -fsS -o /dev/null -X PUT "localhost:$PORT/v1/addons/$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"appName\":\"bench\",\"engine\":\"$2\",\"plan\":\"starter\",\"database\":\"$3\",\"user\":\"$4\",\"password\":\"$6\",
         \"nodes\":[{\"role\":\"primary\",\"host\":\"127.0.0.1\",\"port\":$5}]}"
}
register bench-pg postgresql "$DB" postgres 5432 unused-with-trust-auth
register bench-text postgresql "$TEXTDB" postgres 5432 unused-with-trust-auth
register bench-my mysql "$MYDB" backstop_bench 3306 bench-pw

# each measured ROUNDS times, interleaved, so that a slow moment does not favour one side; the best counts
ROUNDS=3
join() { local IFS=,; echo "$*"; }
declare -a PG_FC PG_LIMIT PG_BS TX_FC TX_LIMIT TX_BS MY_FILE MY_BIN MY_BS
for ((round = 1; round <= ROUNDS; round++)); do
  log "round $round: pg_dump -Fc > file, text";      TX_FC+=("$(pg_fc "$TEXTDB")")
  TX_FC_BYTES=$(stat -c %s "$WORK/baseline.pgsql"); rm -f "$WORK/baseline.pgsql"
  log "round $round: pg_dump -Fc -Z0 > /dev/null, text"; TX_LIMIT+=("$(pg_limit "$TEXTDB")")
  log "round $round: Backstop, PostgreSQL, text";    read -r t TX_BS_BYTES < <(backstop bench-text); TX_BS+=("$t")
  log "round $round: pg_dump -Fc > file";           PG_FC+=("$(pg_fc "$DB")")
  PG_FC_BYTES=$(stat -c %s "$WORK/baseline.pgsql"); rm -f "$WORK/baseline.pgsql"
  log "round $round: pg_dump -Fc -Z0 > /dev/null";   PG_LIMIT+=("$(pg_limit "$DB")")
  log "round $round: Backstop, PostgreSQL";          read -r t PG_BS_BYTES < <(backstop bench-pg); PG_BS+=("$t")
  log "round $round: mysqldump > file";              MY_FILE+=("$(my_file)")
  MY_FILE_BYTES=$(stat -c %s "$WORK/baseline.sql"); rm -f "$WORK/baseline.sql"
  log "round $round: mysqldump --default-character-set=binary > file"; MY_BIN+=("$(my_binary)"); rm -f "$WORK/baseline.sql"
  log "round $round: Backstop, MariaDB";             read -r t MY_BS_BYTES < <(backstop bench-my); MY_BS+=("$t")
done

RESULT=$(python3 - "$TEXT_BYTES" "$(join "${TX_FC[@]}")" "$TX_FC_BYTES" "$(join "${TX_LIMIT[@]}")" "$(join "${TX_BS[@]}")" "$TX_BS_BYTES" \
  "$DB_BYTES" "$(join "${PG_FC[@]}")" "$PG_FC_BYTES" "$(join "${PG_LIMIT[@]}")" "$(join "${PG_BS[@]}")" "$PG_BS_BYTES" \
  "$MY_BYTES" "$(join "${MY_FILE[@]}")" "$MY_FILE_BYTES" "$(join "${MY_BS[@]}")" "$MY_BS_BYTES" "$(join "${MY_BIN[@]}")" <<'PY'
import sys, datetime
a = sys.argv[1:]
times = lambda s: [float(t) for t in s.split(",")]
d = datetime.date.today()
mib = lambda n: n / 1024 / 1024
def row(db, what, runs, size, ratio):
    out = f"{mib(size):.0f} MiB" if size else "—"
    shown = " / ".join(f"{t:.1f}" for t in runs) + " s"
    print(f"| {d} | {mib(db):.0f} MiB | {what} | {shown} | {mib(db)/min(runs):.0f} MiB/s | {out} | {ratio} |")
def postgres(kind, db, fc, fc_bytes, limit, bs, bs_bytes):
    db, fc, fc_bytes, limit, bs, bs_bytes = int(db), times(fc), int(fc_bytes), times(limit), times(bs), int(bs_bytes)
    row(db, f"{kind}: `pg_dump -Fc > file`", fc, fc_bytes, "")
    row(db, f"{kind}: `pg_dump -Fc -Z0 > /dev/null` (the limit)", limit, 0, "")
    row(db, f"{kind}: **Backstop**, request → zstd → encrypted archive stored, listed done", bs, bs_bytes,
        f"**{min(fc)/min(bs):.2f}×** `-Fc`, **{min(limit)/min(bs):.2f}×** the limit; archive {bs_bytes/fc_bytes:.2f}× `-Fc`'s size")
postgres("PostgreSQL, text", *a[0:6])
postgres("PostgreSQL, mixed", *a[6:12])
my_db, myf, myf_bytes, mybs, mybs_bytes, mybin = int(a[12]), times(a[13]), int(a[14]), times(a[15]), int(a[16]), times(a[17])
row(my_db, "MariaDB, mixed: `mysqldump > file`", myf, myf_bytes, "")
row(my_db, "MariaDB, mixed: `mysqldump --default-character-set=binary > file` (Backstop's dump options, uncompressed)", mybin, myf_bytes, "")
row(my_db, "MariaDB, mixed: **Backstop**, request → zstd → encrypted archive stored, listed done", mybs, mybs_bytes,
    f"**{min(myf)/min(mybs):.2f}×** `mysqldump > file`, {min(mybin)/min(mybs):.2f}× the binary one")
PY
)
bench/record.py "backup results" "$(cat <<'MD'
## Backups, end to end (`bench/backup.sh`)

Same databases, same run, on this 2-core machine, each command several times (interleaved); throughput is
database size on disk / best wall time. Backstop's time runs from the HTTP request to the backup listed as done,
through Kafka, the dump, zstd compression, encryption and the archive store.

| date | database | what | time (each run) | throughput | output | ratio (best vs best) |
|---|---|---|---|---|---|---|
MD
)" "$RESULT"
