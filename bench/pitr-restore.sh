#!/usr/bin/env bash
# Benchmark: a point-in-time restore by Backstop (issue #17) against the stock recipe an operator would type,
# same run, same base, same WAL, interleaved, best of ROUNDS (default 2):
#   Backstop: POST /v1/apps/{app}/addons/{id}/pitr/restores -> base fetched, decrypted, unpacked -> scratch
#             server replaying WAL from the archive to recovery_target_time, promoted -> pg_dump | zstd,
#             encrypted, stored, listed done (polled through the API)
#   stock:    untar the pg_basebackup taken beside Backstop's base, restore_command = 'cp <dir>/%f %p' over the
#             plain segments pg_receivewal wrote, recovery_target_time + promote, postgres started, waited
#             for until promoted, then `pg_dump <Backstop's options> -Fc -Z0 | zstd -1 -T2 > file`, fsync
# Wall time and CPU seconds (user + system of every process: the stock recipe's shell, tar, cp, its server
# and pg_dump/zstd; Backstop's JVM with its children: tar, the scratch server, pg_dump), the phases of the
# best run of each side, and the WAL replay rate (WAL from the base's start to the target / replay phase).
#
# Setup, all in this run: a throwaway PostgreSQL primary (as the `postgres` user when run as root) on a free
# port, a database of ~SIZE MiB of hex-digest text (compresses like real data, unlike pgbench filler),
# pg_receivewal into a local folder, Backstop embedded (`./dev run`'s jar, WAL archiver on) with the database
# registered as a Starter addon; its first base backup is waited for, the stock base is taken right after
# it (no write between them), then ~SIZE MiB of WAL is written (updates), the target time is taken, and a
# few commits after it end the recovery at the target.
#
#   bench/pitr-restore.sh [--size MiB] [--rounds N] [--no-record]
#     --size MiB   database size and WAL written (default 1024: the issue's ~1 GB base + ~1 GB of WAL)
#     --rounds N   measurements of each side (default 2), interleaved; the best counts
#     --no-record  print the rows, do not add them to docs/benchmarks.md (smoke runs)
# Run the measurement under the shared lock: flock /tmp/backstop-mvn.lock bench/pitr-restore.sh
# Needs PostgreSQL server binaries (/usr/lib/postgresql/*/bin), curl, python3, zstd.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=1024 ROUNDS=2 RECORD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --no-record) RECORD=; shift ;;
    *) echo "usage: bench/pitr-restore.sh [--size MiB] [--rounds N] [--no-record]" >&2; exit 2 ;;
  esac
done
log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
now() { date +%s.%N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
field() { python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1].split("."): v = v[int(k)] if isinstance(v, list) else (v or {}).get(k)
print("" if v is None else (str(v).lower() if isinstance(v, bool) else str(v)))' "$1"; }

PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
# PostgreSQL refuses root: the servers run as postgres then (the scratch server too: Backstop's run-as)
AS=(); [ "$(id -u)" = 0 ] && AS=(runuser -u postgres --)
WORK=$(mktemp -d /tmp/backstop-pitr-bench.XXXXXX)
chmod 755 "$WORK"
[ "$(id -u)" = 0 ] && chown postgres: "$WORK"
PRIMARY=$WORK/primary WALDIR=$WORK/wal STOCKBASE=$WORK/stock-base OUT=$WORK/stock.zst
PGPORT=$(free_port) PORT=$(free_port)
PG=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres)
pgv() { psql -X -tAq -h 127.0.0.1 -p "$PGPORT" -U postgres -d "${2:-postgres}" -c "$1"; }
BACKSTOP= RECEIVER=
cleanup() {
  rc=$?
  set +e   # every step runs, whichever fails
  [ -n "$BACKSTOP" ] && { kill "$BACKSTOP" 2>/dev/null; wait "$BACKSTOP" 2>/dev/null; }
  [ -n "$RECEIVER" ] && { kill "$RECEIVER" 2>/dev/null; wait "$RECEIVER" 2>/dev/null; }
  for d in "$WORK"/stock-restore/data "$PRIMARY"; do
    [ -f "$d/postmaster.pid" ] && "${AS[@]}" "$PGBIN/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1
  done
  mkdir -p bench/work && cp "$WORK/backstop.log" bench/work/pitr-restore-backstop.log 2>/dev/null   # kept for a look after the run
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

log "primary: PostgreSQL $(basename "$(dirname "$PGBIN")") on port $PGPORT, in $WORK"
"${AS[@]}" "$PGBIN/initdb" -D "$PRIMARY" --auth=trust -U postgres --no-sync >/dev/null
cat >> "$PRIMARY/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$WORK'
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
shared_buffers = '256MB'
max_wal_size = '2GB'
CONF
(cd "$WORK" && "${AS[@]}" "$PGBIN/pg_ctl" -D "$PRIMARY" -l "$WORK/primary.log" -w start >/dev/null)

ROWS=$((SIZE * 4400))   # ~240 bytes a row on disk: ~SIZE MiB
log "loading $ROWS rows of hex-digest text (~$SIZE MiB)"
"${PG[@]}" -c "CREATE DATABASE shop"
"${PG[@]}" -d shop <<SQL
CREATE TABLE notes(id bigint PRIMARY KEY, author text, body text, digest text, created timestamptz);
INSERT INTO notes SELECT g, 'user' || (g % 50000),
  md5(g::text) || ' ' || md5((g * 3)::text) || ' ' || md5((g * 7)::text), md5((g * 11)::text),
  now() - (g || ' seconds')::interval
FROM generate_series(1, $ROWS) g;
CREATE TABLE marks(id serial PRIMARY KEY, at timestamptz DEFAULT clock_timestamp());
CHECKPOINT;
SQL
DB_BYTES=$(pgv "select pg_database_size('shop')")
log "database shop: $((DB_BYTES >> 20)) MiB"

# the stock side's WAL: every segment from now on, plain files in a local folder
mkdir -p "$WALDIR"; [ "$(id -u)" = 0 ] && chown postgres: "$WALDIR"
pg_receivewal -h 127.0.0.1 -p "$PGPORT" -U postgres --slot stock --create-slot --if-not-exists >/dev/null
pg_receivewal -h 127.0.0.1 -p "$PGPORT" -U postgres --slot stock -D "$WALDIR" -n >"$WORK/receivewal.log" 2>&1 &
RECEIVER=$!

# what `./dev run` runs, without its rebuild (an install) when sources are newer: built beforehand, under the lock
jar=embedded/target/backstop-embedded.jar
if [ ! -f "$jar" ] || [ -n "$(find . -path '*/target' -prune -o -newer "$jar" \( -path '*/src/main/*' -o -name pom.xml \) -type f -print -quit)" ]; then
  echo "build the embedded jar first: flock /tmp/backstop-mvn.lock ./dev mvn -q -pl embedded -am package -DskipTests" >&2; exit 1
fi
JAVA=
for c in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-21-jdk-amd64 "${JAVA_HOME:-}"; do
  [ -n "$c" ] && [ -x "$c/bin/java" ] && { JAVA=$c/bin/java; break; }
done
[ -n "$JAVA" ] || { echo "no JDK 21 or newer found: set JAVA_HOME to one" >&2; exit 1; }
log "starting Backstop embedded, WAL archiver on"
DATA=$WORK/backstop
mkdir -p "$DATA"; chmod 755 "$DATA"
setsid "$JAVA" -jar "$jar" --data-dir "$DATA" --port "$PORT" --set backstop.wal-archiver.enabled=true \
  --set backstop.wal-archiver.progress-interval=1s > "$WORK/backstop.log" 2>&1 &
BACKSTOP=$!
for _ in $(seq 1 240); do curl -fs "localhost:$PORT/actuator/health" >/dev/null && break; sleep 1; done
TOKEN=$(cat "$DATA/operator-token")
api() { curl -fsS -H "Authorization: Bearer $TOKEN" "$@"; }
api -o /dev/null -X PUT "localhost:$PORT/v1/addons/bench-pitr" -H 'Content-Type: application/json' \
  -d "{\"appName\":\"bench\",\"engine\":\"postgresql\",\"plan\":\"starter\",\"database\":\"shop\",\"user\":\"postgres\",
       \"password\":\"unused-with-trust-auth\",\"nodes\":[{\"role\":\"primary\",\"host\":\"127.0.0.1\",\"port\":$PGPORT}]}"
window() { api "localhost:$PORT/v1/addons/bench-pitr/pitr"; }
log "waiting for Backstop's first base backup and the window to open"
t0=$(now)
until [ -n "$(window 2>/dev/null | field earliest 2>/dev/null)" ]; do
  (( $(echo "$(now) - $t0 > 1800" | bc) )) && { echo "no PITR window within 30 min" >&2; window >&2; exit 1; }
  sleep 1
done
BS_START_LSN=$(window | field baseBackups.0.startLsn)
log "Backstop's base: $(window | field baseBackups.0.sizeBytes) bytes stored, from $BS_START_LSN; the stock base now"
pg_basebackup -h 127.0.0.1 -p "$PGPORT" -U postgres -Ft -X none -c fast -D "$STOCKBASE"
[ "$(id -u)" = 0 ] && chown -R postgres: "$STOCKBASE"   # the operator untars it as the server's user
STOCK_START_LSN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["WAL-Ranges"][0]["Start-LSN"])' "$STOCKBASE/backup_manifest")
log "stock base: $(($(stat -c %s "$STOCKBASE/base.tar") >> 20)) MiB tar, from $STOCK_START_LSN"

log "writing ~$SIZE MiB of WAL"
W0=$(pgv "select pg_current_wal_lsn()")
batch=$((ROWS / 20)) from=1
while (( $(pgv "select pg_wal_lsn_diff(pg_current_wal_lsn(), '$W0')::bigint") < SIZE * 1048576 )); do
  pgv "UPDATE notes SET body = md5(body) || ' ' || substr(body, 34), digest = md5(digest), created = now()
       WHERE id >= $from AND id < $((from + batch))" shop >/dev/null
  from=$(( from + batch > ROWS ? 1 : from + batch ))
done
sleep 1
TARGET=$(pgv "select to_char(now() at time zone 'utc', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
# recovery_target_time as PostgreSQL reads it (it takes no ISO 8601 'T'/'Z')
TARGET_PG=$(pgv "select to_char(timestamptz '$TARGET' at time zone 'utc', 'YYYY-MM-DD HH24:MI:SS.MS+00')")
END_LSN=$(pgv "select pg_current_wal_lsn()")
WAL_BYTES=$(pgv "select pg_wal_lsn_diff('$END_LSN', '$W0')::bigint")
sleep 1
# commits after the target: recovery stops at the first one (it must see one, or it ends short of the target)
for _ in 1 2 3; do pgv "INSERT INTO marks DEFAULT VALUES" shop >/dev/null; done
AFTER=$(pgv "select pg_current_wal_lsn()")
pgv "select pg_switch_wal()" >/dev/null
pgv "INSERT INTO marks DEFAULT VALUES" shop >/dev/null
EXPECT_ROWS=$(pgv "select count(*) from notes" shop)
log "target $TARGET at $END_LSN: $((WAL_BYTES >> 20)) MiB of WAL written after the bases; waiting for both archives"
until [ "$(pgv "select flush_lsn >= '$AFTER' from pg_stat_replication where application_name = 'pg_receivewal'")" = t ]; do sleep 0.2; done
until latest=$(window | field latest) && [ -n "$latest" ] && \
      python3 -c 'import sys,datetime as d; p=lambda s: d.datetime.fromisoformat(s.replace("Z","+00:00")); sys.exit(0 if p(sys.argv[1]) > p(sys.argv[2]) + d.timedelta(seconds=2) else 1)' "$latest" "$TARGET"; do
  sleep 0.5
done
kill "$RECEIVER"; wait "$RECEIVER" 2>/dev/null || true; RECEIVER=
for f in "$WALDIR"/*.partial; do [ -e "$f" ] && mv "$f" "${f%.partial}"; done
[ "$(id -u)" = 0 ] && chown -R postgres: "$WALDIR"   # restore_command runs as the server's user
SEGMENTS=$(ls "$WALDIR" | grep -c '^[0-9A-F]\{24\}$')
log "stock WAL folder: $SEGMENTS segments"

# ---- the stock recipe, as one measured shell script
DUMPOPTS="--clean --if-exists --format c --compress 0 --no-owner --no-privileges --no-comments --exclude-schema information_schema --exclude-schema '^pg_*'"
R=$WORK/stock-restore
cat > "$WORK/stock.sh" <<SH
set -euo pipefail
stamp() { echo "\$1 \$(date +%s.%N)" >> $WORK/stock.times; }
: > $WORK/stock.times
stamp start
${AS[*]} mkdir -m 700 -p $R/data
${AS[*]} tar -xf $STOCKBASE/base.tar -C $R/data
stamp untarred
${AS[*]} touch $R/data/recovery.signal
${AS[*]} sh -c "cat >> $R/data/postgresql.auto.conf" <<CONF
port = 5432
listen_addresses = ''
unix_socket_directories = '$R'
restore_command = 'cp $WALDIR/%f %p'
recovery_target_time = '$TARGET_PG'
recovery_target_action = 'promote'
CONF
${AS[*]} $PGBIN/postgres -D $R/data > $R/server.log 2>&1 &
server=\$!
until [ "\$(psql -XtAq -h $R -p 5432 -U postgres -d postgres -c 'select pg_is_in_recovery()' 2>/dev/null)" = f ]; do
  kill -0 \$server 2>/dev/null || { tail -5 $R/server.log >&2; exit 1; }
  sleep 0.05
done
stamp promoted
pg_dump $DUMPOPTS -h $R -p 5432 -U postgres -d shop | zstd -1 -T2 -q -f -o $OUT
sync $OUT
stamp dumped
${AS[*]} $PGBIN/pg_ctl -D $R/data -m immediate -w stop > /dev/null
wait \$server || true
SH
# the rows the target gives, checked once on each side's result
count_rows() { # archive.zst dump-is-a-tar(1|0)
  local db=check_$RANDOM
  "${PG[@]}" -c "CREATE DATABASE $db"
  if [ "$2" = 1 ]; then zstd -dcq "$1" | tar -xO --wildcards '*.pgsql' > "$WORK/check.dump"; else zstd -dcq "$1" > "$WORK/check.dump"; fi
  pg_restore -h 127.0.0.1 -p "$PGPORT" -U postgres --no-owner -d "$db" "$WORK/check.dump" 2>/dev/null || true
  pgv "select (select count(*) from notes) || ' notes, ' || (select count(*) from marks) || ' marks'" "$db"
  "${PG[@]}" -c "DROP DATABASE $db"; rm -f "$WORK/check.dump"
}
stock_round() {
  local w c
  "${AS[@]}" rm -rf "$R"; sync
  w= c=
  read -r w c < <(bench/measure.py "bash $WORK/stock.sh") || true
  [ -n "$c" ] || { echo "the stock recipe failed" >&2; exit 1; }
  RUNS[stock]+="$w $c,"
  PHASES[stock]+="$w $(awk 'NR==1{s=$2} {t[$1]=$2} END{printf "untar %.0f ms, replaying-wal %.0f ms, dumping %.0f ms", (t["untarred"]-s)*1000, (t["promoted"]-t["untarred"])*1000, (t["dumped"]-t["promoted"])*1000}' "$WORK/stock.times");"
  SIZES[stock]=$(stat -c %s "$OUT")
  [ -n "${CHECKED[stock]:-}" ] || CHECKED[stock]=$(count_rows "$OUT" 0)
  "${AS[@]}" rm -rf "$R"; rm -f "$OUT"
}

# ---- Backstop: request -> listed done, CPU of the JVM (the scratch server, tar, pg_dump are its children)
backstop_round() {
  local t0 t1 c0 c1 id status key
  sync
  c0=$(bench/measure.py --pid "$BACKSTOP"); t0=$(now)
  id=$(api -X POST -H 'Content-Type: application/json' -d "{\"targetTime\":\"$TARGET\"}" \
    "localhost:$PORT/v1/apps/bench/addons/bench-pitr/pitr/restores" | field id)
  while true; do
    status=$(api "localhost:$PORT/v1/apps/bench/addons/bench-pitr/pitr/restores/$id")
    case "$status" in *'"status":"done"'*|*'"status":"failed"'*) break ;; esac
    sleep 0.05
  done
  t1=$(now)
  echo "$status" | grep -q '"status":"done"' || { echo "Backstop's restore failed: $status" >&2; exit 1; }
  # its scratch server is stopped and reaped once the job settled: wait for its folder to go, then count
  for _ in $(seq 1 100); do compgen -G "$DATA/work/pitr-*" >/dev/null || break; sleep 0.1; done
  sleep 0.3
  c1=$(bench/measure.py --pid "$BACKSTOP")
  RUNS[bs]+="$(echo "$t1 - $t0" | bc) $(echo "$c1 - $c0" | bc),"
  PHASES[bs]+="$(echo "$t1 - $t0" | bc) $(grep -o "point-in-time restore $id of addon [^ ]* done: .*" "$WORK/backstop.log" | sed 's/.*bytes; //; s/)$//' | tail -n 1);"
  SIZES[bs]=$(api "localhost:$PORT/v1/apps/bench/addons/bench-pitr/backups/$id" | field size)
  # its restore test (the verifier's, on the machine's server) before anything else is measured
  while [ -z "$(api "localhost:$PORT/v1/apps/bench/addons/bench-pitr/backups/$id" | field verified)" ]; do
    (( $(echo "$(now) - $t1 > 1800" | bc) )) && { echo "no restore test of $id within 30 min" >&2; exit 1; }
    sleep 0.5
  done
  if [ -z "${CHECKED[bs]:-}" ]; then
    api -o "$WORK/bs.tar.zst" "localhost:$PORT/v1/apps/bench/addons/bench-pitr/backups/$id/archive"
    CHECKED[bs]=$(count_rows "$WORK/bs.tar.zst" 1); rm -f "$WORK/bs.tar.zst"
  fi
}

declare -A RUNS PHASES SIZES CHECKED
for ((round = 1; round <= ROUNDS; round++)); do
  log "round $round: stock recipe"; stock_round
  log "round $round: Backstop";     backstop_round
done
log "rows restored: stock ${CHECKED[stock]}, Backstop ${CHECKED[bs]}"
# every note was there before the target, every mark was committed after it
for side in stock bs; do
  [ "${CHECKED[$side]}" = "$EXPECT_ROWS notes, 0 marks" ] || { echo "$side restored ${CHECKED[$side]}, not $EXPECT_ROWS notes, 0 marks" >&2; exit 1; }
done

RESULT=$(python3 - "$DB_BYTES" "$WAL_BYTES" "$SEGMENTS" "$STOCK_START_LSN" "$BS_START_LSN" "$END_LSN" \
  "${RUNS[stock]}" "${PHASES[stock]}" "${SIZES[stock]}" "${RUNS[bs]}" "${PHASES[bs]}" "${SIZES[bs]}" "${CHECKED[bs]}" <<'PY'
import sys, datetime, re
db, wal, segments = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
lsn = lambda s: (int(s.split("/")[0], 16) << 32) | int(s.split("/")[1], 16)
stock_start, bs_start, end = lsn(sys.argv[4]), lsn(sys.argv[5]), lsn(sys.argv[6])
def parse(runs, phases):
    runs = [tuple(map(float, r.split())) for r in runs.strip(",").split(",")]
    by_wall = {float(p.split(" ", 1)[0]): p.split(" ", 1)[1] for p in phases.strip(";").split(";")}
    best = min(runs)
    return runs, best, by_wall[min(by_wall, key=lambda w: abs(w - best[0]))]
s_runs, s_best, s_phases = parse(sys.argv[7], sys.argv[8])
b_runs, b_best, b_phases = parse(sys.argv[10], sys.argv[11])
s_size, b_size, rows = int(sys.argv[9]), int(sys.argv[12] or 0), sys.argv[13]
mib = lambda n: n / 1048576
def replay_rate(phases, span):
    m = re.search(r"replaying-wal (\d+) ms", phases)
    return f"{mib(span) / (int(m.group(1)) / 1000):.0f} MiB/s" if m else "—"
d = datetime.date.today()
what = f"{mib(db):.0f} MiB database + {mib(wal):.0f} MiB of WAL"
shown = lambda runs: " / ".join(f"{w:.1f}" for w, _ in runs) + " s"
print(f"| {d} | {what} | stock recipe: untar, `restore_command = 'cp dir/%f %p'` ({segments} plain segments from `pg_receivewal`), "
      f"`recovery_target_time` + promote, the primary's settings; `pg_dump -Fc -Z0 \\| zstd -1 -T2 > file`, fsync | {shown(s_runs)} | "
      f"{s_best[1]:.1f} s | {replay_rate(s_phases, end - stock_start)} ({mib(end - stock_start):.0f} MiB from the base's start) | "
      f"{mib(s_size):.0f} MiB | phases of the best run: {s_phases} |")
print(f"| {d} | {what} | **Backstop**: request → base fetched, decrypted, unpacked → WAL from the archive, replayed to the target "
      f"→ `pg_dump` → zstd → encrypted, stored, listed done | {shown(b_runs)} | {b_best[1]:.1f} s | "
      f"{replay_rate(b_phases, end - bs_start)} ({mib(end - bs_start):.0f} MiB) | {mib(b_size):.0f} MiB | "
      f"**{b_best[0] / s_best[0]:.2f}×** the stock recipe's time (goal ≤ 1.2), CPU {b_best[1] / s_best[1]:.2f}×; both restored {rows}; "
      f"phases of the best run: {b_phases} |")
PY
)
echo "$RESULT"
[ -n "$RECORD" ] || exit 0
bench/record.py "pitr restore results" "$(cat <<'MD'
## Point-in-time recovery: restore (`bench/pitr.sh`)

`bench/pitr-restore.sh` (called by `bench/pitr.sh`): a throwaway PostgreSQL primary of ~1 GiB of hex-digest
text, archived by Backstop embedded (its first base backup, then the WAL stream) and, in the same run, by
stock tools (`pg_basebackup -Ft -X none` right after Backstop's base, no write between them; `pg_receivewal`
into a local folder). Then ~1 GiB of WAL (updates), a target time, a few commits after it. Each side restores
to that target, interleaved, best of 2: Backstop from the request to the archive listed done; the stock
recipe an operator would type, from untar to the fsynced dump, its server started with the primary's
settings as the base carries them (PostgreSQL's defaults but `shared_buffers = 256MB`, `max_wal_size =
2GB`). CPU: user + system of every process of each side, the recovering server's included. The replay rate
is the WAL from the base's start to the target over the replay phase (server start to promotion, fetching
included). Backstop's scratch server runs with the settings listed in dump-worker/README.

| date | data | what | wall (each run) | CPU (best run) | WAL replay | output | notes |
|---|---|---|---|---|---|---|---|
MD
)" "$RESULT"
