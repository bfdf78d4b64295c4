#!/usr/bin/env bash
# Benchmark: backups of two PostgreSQL databases and one MariaDB database, taken by Backstop end to end
# (HTTP request -> dump -> zstd -> encrypted archive stored -> listed as done), against the stock pipe that
# does the same work, in the same run, on the same databases, interleaved (issue #21):
#   PostgreSQL: `pg_dump -Fc -Z0 | zstd -1 -T2 > file && sync file`
#   MariaDB:    `mysqldump --default-character-set=binary ... | zstd -1 -T2 > file && sync file`
# Every row gives wall time and CPU seconds (user + system of every process: the stock pipe's shell, dump
# tool and zstd; Backstop's JVM, its pg_dump/mysqldump children included; the database server's own CPU is
# in neither; restore rows give the server's beside). Backstop's restore test of each backup is waited for
# before the next measurement and timed as its own row, so it never overlaps another row. It runs on
# throwaway scratch servers started here with README's scratch settings (as a deployment's verifier would),
# beside the stock restore of the stock pipe's archive (`zstd -d` then `pg_restore --jobs 2`, or `zstd -dc | mysql`, into a fresh database) on the
# machine's default server and on the scratch server. Each Backstop row also gives the worker's phase
# breakdown (BackupCompleted.timings, as the worker logs it) of its best run.
#
#   bench/backup.sh --latency [N]   instead: N (default 100) backups of a tiny database, one after the
#                                   other, and the p50/p99 of request -> dump started (queued + preparing)
# The databases: ~750 MB of mixed orders (JSON, numbers, timestamps, some digests), ~650 MB of text
# notes made of hex digests (the md5-text data of ../shared/STACK.md, as hard to compress as real prose
# or tokens), and ~500 MB of mixed orders in MariaDB. Writes the result to docs/benchmarks.md.
#
#   bench/backup.sh [--rows N] [--prepare]
#     --rows N    orders in the mixed database (default 2,600,000, about 750 MB on disk)
#     --prepare   only create the databases (kept for later runs), measure nothing
#
# Needs the local PostgreSQL (127.0.0.1:5432, user postgres, trust auth), the local MariaDB
# (127.0.0.1:3306, root without password), the server binaries (/usr/lib/postgresql/*/bin, mariadbd,
# mariadb-install-db) for the scratch servers (ports SCRATCH_PG_PORT 15433, SCRATCH_MY_PORT 13307), curl
# and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=2600000 PREPARE= LATENCY=
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    --prepare) PREPARE=1; shift ;;
    --latency) LATENCY="${2:-100}"; [[ "${2:-}" =~ ^[0-9]+$ ]] && shift; shift ;;
    *) echo "usage: bench/backup.sh [--rows N] [--prepare] [--latency [N]]" >&2; exit 2 ;;
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

# Backstop's restore tests run where a deployment runs them: on throwaway scratch servers of their own, with
# the settings README's "Scratch servers for restore tests" documents (crash safety traded for speed),
# started here and deleted at the end. The stock restore runs on the machine's default servers, as the
# issue's baseline says, and once more on the scratch servers, so that the scratch settings' share and
# Backstop's own are told apart.
SCRATCH=$(mktemp -d /tmp/backstop-bench-scratch.XXXXXX); chmod 755 "$SCRATCH"   # the servers run as their own users
SCRATCH_PG_PORT=${SCRATCH_PG_PORT:-15433} SCRATCH_MY_PORT=${SCRATCH_MY_PORT:-13307}
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_scratch() {
  [ -f "$SCRATCH/pg/data/postmaster.pid" ] && (cd "$SCRATCH" && as_pg "$PG_BIN/pg_ctl" -D "$SCRATCH/pg/data" -m immediate -w stop >/dev/null 2>&1) || true
  local pid; pid=$(cat "$SCRATCH/my/mysqld.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -rf "$SCRATCH"
}
trap 'stop_scratch' EXIT
start_scratch() {
  mkdir -p "$SCRATCH/pg" "$SCRATCH/my"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$SCRATCH/pg"
  (cd "$SCRATCH/pg" && as_pg "$PG_BIN/initdb" -D "$SCRATCH/pg/data" --auth=trust --no-sync -U postgres --encoding=UTF8 \
    --locale=C.UTF-8 >/dev/null)
  (cd "$SCRATCH/pg" && as_pg "$PG_BIN/pg_ctl" -D "$SCRATCH/pg/data" -l "$SCRATCH/pg/server.log" -w -o "-p $SCRATCH_PG_PORT \
    -k $SCRATCH/pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
    -c wal_level=minimal -c max_wal_senders=0 -c max_wal_size=4GB -c checkpoint_timeout=30min -c autovacuum=off" start >/dev/null)
  cat > "$SCRATCH/my/my.cnf" <<CNF
[mariadbd]
datadir=$SCRATCH/my/data
port=$SCRATCH_MY_PORT
bind-address=127.0.0.1
socket=$SCRATCH/my/mysqld.sock
pid-file=$SCRATCH/my/mysqld.pid
log-error=$SCRATCH/my/error.log
skip-name-resolve
innodb_flush_log_at_trx_commit=0
innodb_doublewrite=0
innodb_buffer_pool_size=1G
innodb_log_file_size=1G
skip-log-bin
event_scheduler=OFF
CNF
  local user=(); [ "$(id -u)" = 0 ] && { chown -R mysql:mysql "$SCRATCH/my"; user=(--user=mysql); }
  mariadb-install-db --defaults-file="$SCRATCH/my/my.cnf" --auth-root-authentication-method=socket --skip-test-db \
    "${user[@]}" >/dev/null 2>&1
  setsid /usr/sbin/mariadbd --defaults-file="$SCRATCH/my/my.cnf" "${user[@]}" >/dev/null 2>&1 &
  for _ in $(seq 1 60); do mariadb --socket="$SCRATCH/my/mysqld.sock" -u root -e 'select 1' >/dev/null 2>&1 && break; sleep 0.5; done
  # the verifier connects over TCP with a password, as to a deployment's scratch server
  mariadb --socket="$SCRATCH/my/mysqld.sock" -u root -e "CREATE USER 'backstop'@'127.0.0.1' IDENTIFIED BY 'scratch-pw';
    GRANT ALL ON *.* TO 'backstop'@'127.0.0.1' WITH GRANT OPTION"
  log "scratch servers: PostgreSQL on $SCRATCH_PG_PORT, MariaDB on $SCRATCH_MY_PORT ($SCRATCH)"
}
start_scratch
export BACKSTOP_VERIFIER_POSTGRESQL_PORT=$SCRATCH_PG_PORT BACKSTOP_VERIFIER_MYSQL_PORT=$SCRATCH_MY_PORT \
  BACKSTOP_VERIFIER_MYSQL_USER=backstop BACKSTOP_VERIFIER_MYSQL_PASSWORD=scratch-pw
SCRATCH_MY="mysql -h 127.0.0.1 -P $SCRATCH_MY_PORT -u backstop --protocol=TCP"

# measured CMD: "wall cpu" of a shell pipeline (bench/measure.py)
measured() { bench/measure.py "$1"; }
# before each measurement: what the previous one left in the page cache is written out first, so that its
# writeback does not slow the next one (a restore leaves gigabytes of dirty pages behind), and the default
# server, which the stock restores load and every dump reads, checkpoints now rather than during the next dump
quiet() { psql -Xq -c CHECKPOINT postgres; sync; sleep 1; }
OUT=$WORK/baseline.zst
pg_same()  { measured "pg_dump -Fc -Z0 -d $1 | zstd -1 -T2 -q -f -o $OUT && sync $OUT"; }
my_same()  { (export MYSQL_PWD=bench-pw; measured "$MYDUMP --default-character-set=binary $MYDB | zstd -1 -T2 -q -f -o $OUT && sync $OUT"); }

# backstop ADDON [SERVER]: one backup, request -> listed done, then its restore test waited for, timed by one
# process started before either span. Prints "wall cpu size verify_wall verify_cpu id jit verify_server"; CPU is
# the Backstop JVM's (children included) over each span, jit its JIT compiler threads' over the backup's,
# verify_server the scratch server's (pid SERVER, its processes included) over the restore test's.
backstop() {
  timeout 1800 bench/measure.py --backup "$PORT" "$TOKEN" "/v1/apps/bench/addons/$1/backups" "$BACKSTOP" ${2:-} \
    || { echo "backup of $1 failed, or no restore test within 30 min" >&2; exit 1; }
}
phases() { grep -o "backup $1 of addon [^ ]* done: .*" "$WORK/backstop.log" | sed 's/.*sha256 [0-9a-f]*; //; s/)$//' | tail -n 1; }
# the engine's breakdown of the last restore test (tests run one at a time)
verify_phases() { grep -o "restore test into [^ ]*: .*" "$WORK/backstop.log" | sed 's/^restore test into [^ ]*: //' | tail -n 1; }

log "starting Backstop embedded"
DATA=$(mktemp -d)
# its own session: stopping it must not signal this script; setsid execs, so $! is the JVM's pid
setsid ./dev run --data-dir "$DATA" --port $PORT > "$WORK/backstop.log" 2>&1 &
BACKSTOP=$!
trap 'rc=$?; kill $BACKSTOP 2>/dev/null; wait $BACKSTOP 2>/dev/null || true; rm -rf "$DATA" "$WORK"/baseline.*; stop_scratch; exit $rc' EXIT
for _ in $(seq 1 180); do curl -fs "localhost:$PORT/actuator/health" >/dev/null && break; sleep 1; done
TOKEN=$(cat "$DATA/operator-token")
register() { # addon engine database user port password
  curl -fsS -o /dev/null -X PUT "localhost:$PORT/v1/addons/$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"appName\":\"bench\",\"engine\":\"$2\",\"plan\":\"starter\",\"database\":\"$3\",\"user\":\"$4\",\"password\":\"$6\",
         \"nodes\":[{\"role\":\"primary\",\"host\":\"127.0.0.1\",\"port\":$5}]}"
}

psql -Xq postgres -c "CREATE DATABASE backstop_bench_tiny" 2>/dev/null || true
psql -Xq backstop_bench_tiny -c "SET client_min_messages = warning" \
  -c "CREATE TABLE IF NOT EXISTS t(id int); INSERT INTO t SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM t)"
register bench-tiny postgresql backstop_bench_tiny postgres 5432 unused-with-trust-auth
if [ -n "$LATENCY" ]; then
  # the first backup, asked for as soon as the addon is registered, also waits for the registration to reach
  # the worker (each service's first reads after start-up are slow) and pays the worker's first probe: its
  # own row, not one of the N
  read -r _ _ _ _ _ FIRST _ < <(backstop bench-tiny)
  declare -a IDS
  for ((i = 1; i <= LATENCY; i++)); do read -r _ _ _ _ _ id _ < <(backstop bench-tiny); IDS+=("$id"); done
  RESULT=$( { phases "$FIRST"; for id in "${IDS[@]}"; do phases "$id"; done; } | python3 -c '
import re, sys, datetime
total = lambda line: sum(int(v) for v in re.findall(r"(?:queued|preparing) (\d+) ms", line))
lines = sys.stdin.read().splitlines()
first, ms = lines[0], sorted(total(line) for line in lines[1:])
pct = lambda p: ms[min(len(ms) - 1, int(round(p / 100 * len(ms) + 0.5)) - 1)]
print(f"| {datetime.date.today()} | {len(ms)} backups of a 1-row database, one at a time | {pct(50)} ms | {pct(99)} ms | {ms[-1]} ms | ≤ 500 ms |")
print(f"| {datetime.date.today()} | the first backup, asked for right after the registration (not among the {len(ms)}) | {total(first)} ms | — | — | — |")')
  bench/record.py "backup latency results" "$(cat <<'MD'
## Request → dump started (`bench/backup.sh --latency`)

Idle system, Backstop embedded. Time from the request's `requestedAt` to the dump tool's start, from each
backup's `BackupCompleted.timings` (queued + preparing, as the worker logs them): the consumer records the
request, a runner thread claims it, looks up the addon, probes and takes a host slot.

| date | what | p50 | p99 | max | goal |
|---|---|---|---|---|---|
MD
)" "$RESULT"
  exit 0
fi

register bench-pg postgresql "$DB" postgres 5432 unused-with-trust-auth
register bench-text postgresql "$TEXTDB" postgres 5432 unused-with-trust-auth
register bench-my mysql "$MYDB" backstop_bench 3306 bench-pw

# settle: waits (at most 3 min) until Backstop's JVM has used under a quarter of a core for 5 s in a row.
# Just after start-up, and after a first run of each path, the JIT compilers keep a core busy for a minute
# or two (C2 is the top thread then): a benchmark taken meanwhile measures the compilation, not a backup.
settle() { bench/measure.py --await-idle "$BACKSTOP" 0.25 5 180 || log "Backstop's JVM still busy after 3 min: measuring anyway"; }

# each measured ROUNDS times, interleaved, so that a slow moment does not favour one side; the best counts
ROUNDS=${ROUNDS:-3}
declare -A RUNS SIZES PHASES
record() { RUNS[$1]+="$2 $3${4:+ $4},"; }   # key wall cpu [server_cpu]
# the database servers restores load, by pid: the server's own CPU is the larger part of a restore's, and no
# client's time shows it (MariaDB's statistics thread once spun a core through each restore test unseen)
SERVER_PG_default=$(head -n 1 "$(psql -XAt -c 'SHOW data_directory' postgres)/postmaster.pid")
SERVER_MY_default=$(cat "$($MY -N -e 'SELECT @@pid_file')")
SERVER_PG_scratch=$(head -n 1 "$SCRATCH/pg/data/postmaster.pid")
SERVER_MY_scratch=$(cat "$SCRATCH/my/mysqld.pid")
server_cpu() { bench/measure.py --tree "$1"; }
# the stock restore of the stock pipe's archive, into a fresh database: decompress, then `pg_restore --jobs 2`
# of the file (it needs one to run jobs) or `mysql <`; on the machine's default server (the issue's baseline)
# and on the scratch server Backstop's restore tests use
RESTOREDB=backstop_bench_restore
stock_restore() { # key pg|my default|scratch
  local w c s0 s1 pgport=5432 my=$MY server
  server=SERVER_${2^^}_$3; server=${!server}
  [ "$3" = scratch ] && { pgport=$SCRATCH_PG_PORT; my="env MYSQL_PWD=scratch-pw $SCRATCH_MY"; }
  if [ "$2" = pg ]; then
    psql -p "$pgport" -Xq postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $RESTOREDB" -c "CREATE DATABASE $RESTOREDB"
    quiet; s0=$(server_cpu "$server")
    read -r w c < <(measured "zstd -d -q -f $OUT -o $WORK/baseline.dump && pg_restore -p $pgport --jobs 2 --exit-on-error --no-owner --no-privileges -d $RESTOREDB $WORK/baseline.dump")
    s1=$(server_cpu "$server")
    psql -p "$pgport" -Xq postgres -c "DROP DATABASE $RESTOREDB"; rm -f "$WORK/baseline.dump"
  else
    $my -e "DROP DATABASE IF EXISTS $RESTOREDB; CREATE DATABASE $RESTOREDB"
    quiet; s0=$(server_cpu "$server"); read -r w c < <(measured "zstd -dc $OUT | $my $RESTOREDB"); s1=$(server_cpu "$server")
    $my -e "DROP DATABASE $RESTOREDB"
  fi
  record "$1-restore-$3" "$w" "$c" "$(echo "$s1 - $s0" | bc)"
}
stock_round() { # key pg|my command...
  local key=$1 engine=$2; shift 2
  quiet; read -r w c < <("$@"); record "$key" "$w" "$c"; SIZES[$key]=$(stat -c %s "$OUT")
  stock_restore "$key" "$engine" default; stock_restore "$key" "$engine" scratch; rm -f "$OUT"
}
backstop_round() { # key addon pg|my (its restore test's scratch server)
  local w c size vw vc id jit vs server=SERVER_${3^^}_scratch
  quiet; read -r w c size vw vc id jit vs < <(backstop "$2" "${!server}")
  record "$1" "$w" "$c"; record "$1-verify" "$vw" "$vc" "$vs"; SIZES[$1]=$size
  PHASES[$1]+="$w jit=$jit $(phases "$id");"; PHASES[$1-verify]+="$vw $(verify_phases);"
}
# A deployed worker runs for days: two backups and restore tests of each database first, not recorded, so that
# the rounds measure the worker's code compiled, as it runs after its first hour, not its first minute (after
# one of each, the JIT still recompiled hundreds of methods a minute through the rounds). Then 40 backups of
# the one-row database: the path every backup takes whatever its size (Kafka, the store, the listing, the
# gateway's long polls) runs a few dozen times an hour in a deployment, and until it has, C2 still compiled
# a quarter of a second of it during each big backup (docs/benchmarks.md).
log "warm-up: two backups of each database and their restore tests, then 40 of a one-row database, not recorded"
for addon in bench-text bench-pg bench-my bench-text bench-pg bench-my; do backstop "$addon" >/dev/null; done
for _ in $(seq 1 40); do backstop bench-tiny >/dev/null; done
settle
# what the JVM burns doing nothing (embedded broker, store, consumers' polls): a deployment spends it on
# other machines, this benchmark charges it to every Backstop row; the rows say how much of their CPU it was
IDLE0=$(bench/measure.py --pid "$BACKSTOP"); sleep 10; IDLE_RATE=$(echo "($(bench/measure.py --pid "$BACKSTOP") - $IDLE0) / 10" | bc -l)
log "Backstop's JVM idle: $(printf %.2f "$IDLE_RATE") of a core"
for ((round = 1; round <= ROUNDS; round++)); do
  log "round $round: PostgreSQL text, stock same-work pipe"; stock_round tx-stock pg pg_same "$TEXTDB"
  log "round $round: PostgreSQL text, Backstop";            backstop_round tx-bs bench-text pg
  log "round $round: PostgreSQL mixed, stock same-work pipe"; stock_round pg-stock pg pg_same "$DB"
  log "round $round: PostgreSQL mixed, Backstop";           backstop_round pg-bs bench-pg pg
  log "round $round: MariaDB mixed, stock same-work pipe";   stock_round my-stock my my_same
  log "round $round: MariaDB mixed, Backstop";              backstop_round my-bs bench-my my
done

args=()
for key in {tx,pg,my}-{stock,stock-restore-default,stock-restore-scratch,bs,bs-verify}; do
  args+=("$key=${RUNS[$key]}=${SIZES[$key]:-0}=${PHASES[$key]:-}")
done
RESULT=$(python3 - "$TEXT_BYTES" "$DB_BYTES" "$MY_BYTES" "$IDLE_RATE" "${args[@]}" <<'PY'
import sys, datetime
sizes = {"tx": int(sys.argv[1]), "pg": int(sys.argv[2]), "my": int(sys.argv[3])}
idle = float(sys.argv[4])
data = {}
for arg in sys.argv[5:]:
    key, runs, size, phases = arg.split("=", 3)
    runs = [tuple(map(float, r.split())) for r in runs.strip(",").split(",")]
    best_phases = ""
    if phases:
        by_wall = {float(p.split(" ", 1)[0]): p.split(" ", 1)[1] for p in phases.strip(";").split(";")}
        best_phases = by_wall[min(by_wall)]
    jit = None
    if best_phases.startswith("jit="):
        jit, best_phases = best_phases.split(" ", 1)
        jit = float(jit[4:])
    data[key] = (runs, int(size), best_phases, jit)
d = datetime.date.today()
mib = lambda n: n / 1024 / 1024
names = {"tx": "PostgreSQL, text", "pg": "PostgreSQL, mixed", "my": "MariaDB, mixed"}
stock = {"tx": "`pg_dump -Fc -Z0 | zstd -1 -T2 > file`, fsync", "pg": "`pg_dump -Fc -Z0 | zstd -1 -T2 > file`, fsync",
         "my": "`mysqldump --default-character-set=binary | zstd -1 -T2 > file`, fsync"}
restore = {"tx": "`zstd -d`, `pg_restore --jobs 2`", "pg": "`zstd -d`, `pg_restore --jobs 2`", "my": "`zstd -dc | mysql`"}
def row(db, what, runs, size, note):
    best = min(runs)
    gib = db / 1024**3
    shown = " / ".join(f"{w:.1f}" for w, *_ in runs) + " s"
    out = f"{mib(size):.0f} MiB" if size else "—"
    print(f"| {d} | {mib(db):.0f} MiB | {what} | {shown} | {best[1]:.1f} s ({best[1]/gib:.1f} s/GiB) | {mib(db)/best[0]:.0f} MiB/s | {out} | {note} |")
for k in ("tx", "pg", "my"):
    db = sizes[k]
    s_runs, s_size, _, _ = data[k + "-stock"]
    b_runs, b_size, phases, jit = data[k + "-bs"]
    v_runs, _, v_phases, _ = data[k + "-bs-verify"]
    s_best, b_best = min(s_runs), min(b_runs)
    row(db, f"{names[k]}: stock same-work pipe {stock[k]}", s_runs, s_size, "")
    row(db, f"{names[k]}: **Backstop**, request → dump → zstd → encrypted, stored, listed done", b_runs, b_size,
        f"**{s_best[0]/b_best[0]:.2f}×** the stock pipe's throughput (goal ≥ 0.95), CPU {b_best[1]/s_best[1]:.2f}× (goal ≤ 1.1; "
        f"{(b_best[1] - idle * b_best[0])/s_best[1]:.2f}× without the idle JVM's {idle:.2f} core over the run; "
        f"JIT compilers {jit:.2f} s of it), "
        f"archive {b_size/s_size:.2f}× zstd -1's; phases of the best run: {phases}")
    r_runs, _, _, _ = data[k + "-stock-restore-default"]
    rs_runs, _, _, _ = data[k + "-stock-restore-scratch"]
    row(db, f"{names[k]}: stock restore of the stock pipe's archive, {restore[k]} into a fresh database on a default server",
        r_runs, 0, f"{min(r_runs)[0]/s_best[0]:.2f}× the stock pipe's time; server CPU {min(r_runs)[2]:.1f} s")
    row(db, f"{names[k]}: the same stock restore on the scratch server", rs_runs, 0,
        f"{min(rs_runs)[0]/s_best[0]:.2f}× the stock pipe's time; server CPU {min(rs_runs)[2]:.1f} s")
    row(db, f"{names[k]}: **Backstop's restore test** of that backup on the scratch server (after it was listed done)", v_runs, 0,
        f"**{min(v_runs)[0]/b_best[0]:.2f}×** the backup's time (goal ≤ 1.0), {min(v_runs)[0]/min(r_runs)[0]:.2f}× the stock "
        f"restore's on a default server, {min(v_runs)[0]/min(rs_runs)[0]:.2f}× on the scratch server; server CPU {min(v_runs)[2]:.1f} s "
        f"({min(v_runs)[2]/min(rs_runs)[2]:.2f}× the stock restore's there); phases of the best run: "
        f"{v_phases}")
PY
)
bench/record.py "backup same-work results" "$(cat <<'MD'
## Backups against the stock pipe doing the same work (`bench/backup.sh`)

Same databases, same run, on this 2-core machine, each command several times, interleaved; throughput is
database size on disk / best wall time. The stock pipe dumps, compresses with `zstd -1 -T2` and fsyncs the
file; Backstop does the same through Kafka, the worker, AES-GCM encryption, SHA-256, the archive store and
the listing. CPU seconds are those of the best run: user + system of every process of the stock pipe, and of
Backstop's JVM (embedded broker, store and services included) with its dump tool. The database server's own
CPU is in neither. Backstop's restore test of each backup ran before the next measurement and is its own row.
It runs where a deployment runs it: on throwaway scratch servers the benchmark starts with the settings of
README's "Scratch servers for restore tests" (PostgreSQL `fsync`, `synchronous_commit`, `full_page_writes`
off, `wal_level = minimal`, no autovacuum; MariaDB `innodb_flush_log_at_trx_commit = 0`, no doublewrite, no
binary log, 1 GiB buffer pool and redo log). Beside it, the stock restore of the stock pipe's archive
(decompressed, then `pg_restore --jobs 2` or `mysql <`, into a fresh database; CPU of the client side, the server's own
CPU beside the ratio: its backends and background processes, since 2026-12-03),
on the machine's default server (the issue's baseline) and on the same scratch server. Before the rounds,
two backups of each database and their restore tests, then 40 backups of a one-row database, are taken and
not recorded, and the JVM is let settle (JIT compilation keeps a core busy for a minute or two after start-up
and after a path's first run); each Backstop row says how much of its CPU the JIT compilers still took; before
each measurement, `sync` writes out what the previous one left in the page cache. The JVM's idle CPU (the
embedded broker, store and consumers' polls doing nothing) is measured once and is given beside each
Backstop row's CPU ratio.

| date | database | what | wall (each run) | CPU (best run) | throughput | output | ratio, best vs best |
|---|---|---|---|---|---|---|---|
MD
)" "$RESULT"
