#!/usr/bin/env bash
# Benchmark: point-in-time recovery, capture side (issue #16). Backstop embedded (`./dev run`, WAL archiver
# on, every other setting at its default: chunks every 200 ms) archives throwaway PostgreSQL primaries of
# this script's own (fsync on, the server's default synchronous_commit), registered as Starter addons through
# the operator API. In the same run:
#   - Overhead: pgbench TPS (-c 4 -j 2, scale 20) on a primary without archiving, then with it, twice,
#     interleaved (without, with, without, with); CPU seconds of the server and of Backstop's JVM beside each.
#     Goal: with ≥ 0.95× without.
#   - RPO, N rounds (default 5), each on a fresh primary: a writer (bench/.../PitrWriter.java, 4 connections,
#     1000 commits/s of numbered rows with a 400-character hex note) logs every acknowledged id; at a random
#     moment (5–25 s) every process of the server is killed with SIGKILL at once (a crash, not a shutdown)
#     and its data directory deleted. The archiver is left 12 s, then the archive is recovered by the stock
#     recipe: a `pg_basebackup -Ft -X none` tar taken after the stream started, `restore_command` reading the
#     store through Backstop's own reader (dev.backstop.pitr.WalFetch), recovery to the end of the archived
#     WAL. Acknowledged ids missing from the recovered table, also as seconds of commits at the writer's rate.
#     Goal: ≤ 1 s. Beside it, how far the window's `latest` (what a restore through the API can target) is
#     behind the last acknowledged commit.
#   - Lag, under that load: the server's flushed WAL minus the flush position the archiver reported (its
#     store-durable LSN), from pg_stat_replication every 200 ms, p50/p99/max, bytes and pg's `flush_lag`.
#   - Storage: the same writer alone for 90 s on a fresh primary; the archive's bytes per day at that load,
#     from the whole segments written entirely by it (the steady state: a segment in progress is kept as
#     chunks, deleted once it is stored whole; the segments around a base backup are mostly padding after a
#     WAL switch and would flatter the ratio) vs the raw WAL and `zstd -1` of the same segments (read back
#     through WalFetch).
# Results appended to docs/benchmarks.md.
#
#   bench/pitr-capture.sh [--rounds N] [--rate COMMITS_PER_S] [--wait MIN-MAX] [--pgbench-seconds S]
#     --rounds N            RPO rounds (default 5)
#     --rate R              the writer's commits per second (default 1000)
#     --wait MIN-MAX        seconds of writing before the crash, drawn uniformly (default 5-25)
#     --pgbench-seconds S   each pgbench run (default 30; 0 skips the overhead part)
#     --storage-seconds S   the storage run: the writer alone for S seconds (default 90; 0 skips it)
#     --set NAME=VALUE      a Backstop setting for the run (e.g. backstop.wal-archiver.chunk-interval=1s);
#                           the settings given are named in the recorded rows
#     --no-record           print the rows, leave docs/benchmarks.md alone (smoke runs)
#
# Needs PostgreSQL's server binaries (/usr/lib/postgresql/*/bin), psql, pgbench, pg_basebackup, zstd, curl,
# python3; run as root it runs the servers as the `postgres` user (initdb refuses root).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=5 RATE=1000 WAIT_MIN=5 WAIT_MAX=25 PGBENCH_SECONDS=30 STORAGE_SECONDS=90 THREADS=4 SCALE=20
declare -a SETTINGS=(--set backstop.wal-archiver.enabled=true)
RECORD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --wait) WAIT_MIN="${2%-*}"; WAIT_MAX="${2#*-}"; shift 2 ;;
    --pgbench-seconds) PGBENCH_SECONDS="$2"; shift 2 ;;
    --storage-seconds) STORAGE_SECONDS="$2"; shift 2 ;;
    --set) SETTINGS+=(--set "$2"); shift 2 ;;
    --no-record) RECORD=; shift ;;
    *) echo "usage: bench/pitr-capture.sh [--rounds N] [--rate R] [--wait MIN-MAX] [--pgbench-seconds S] [--storage-seconds S] [--set NAME=VALUE]... [--no-record]" >&2; exit 2 ;;
  esac
done
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
SEGMENT=16777216
PORT=18183
REPO=$PWD
log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
now() { date +%s.%N; }
# the servers' user: initdb and postgres refuse root
if [ "$(id -u)" = 0 ]; then AS=(runuser -u postgres --); else AS=(); fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# everything under one throwaway directory the servers' user can reach (restore_command reads the store)
WORK=$(mktemp -d /tmp/backstop-pitr-bench.XXXXXX)
chmod 755 "$WORK"
DATA=$WORK/backstop
mkdir -m 755 "$DATA"
declare -a SERVERS=()
BACKSTOP=
cleanup() {
  rc=$?
  for d in "${SERVERS[@]}"; do
    [ -f "$d/data/postmaster.pid" ] && (cd "$d" && "${AS[@]}" "$PGBIN/pg_ctl" -D "$d/data" -m immediate -w stop >/dev/null 2>&1 || true)
  done
  if [ -n "$BACKSTOP" ]; then kill "$BACKSTOP" 2>/dev/null || true; wait "$BACKSTOP" 2>/dev/null || true; fi
  [ $rc = 0 ] && rm -rf "$WORK" || log "kept $WORK for a look (exit $rc)"
  exit $rc
}
trap cleanup EXIT

# the embedded jar's classes: WalFetch for restore_command, PgJDBC for the writer. `./dev run` would rebuild
# (and install) a jar older than the sources: package it here instead (this script runs under the build lock)
JAR=embedded/target/backstop-embedded.jar
if [ ! -f "$JAR" ] || [ -n "$(find . -path ./embedded/target -prune -o -newer "$JAR" \( -name '*.java' -o -name '*.avsc' -o -name '*.yml' -o -name pom.xml -o -path '*/src/main/resources/static/*' \) -print -quit)" ]; then
  log "packaging the embedded jar"
  ./dev mvn -q -pl embedded -am package -DskipTests
  touch "$JAR"   # sources outside embedded's modules (bench/, cli/) would otherwise still look newer
fi
JAVA_BIN="$(./dev java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.home = //p')/bin/java"

log "starting Backstop embedded, WAL archiving on"
# its own session: stopping it must not signal this script; setsid execs, so $! is the JVM's pid
setsid ./dev run --data-dir "$DATA" --port $PORT "${SETTINGS[@]}" > "$WORK/backstop.log" 2>&1 &
BACKSTOP=$!
for _ in $(seq 1 300); do curl -fs "localhost:$PORT/actuator/health" >/dev/null && break; sleep 1; done
curl -fs "localhost:$PORT/actuator/health" >/dev/null || { tail -n 30 "$WORK/backstop.log" >&2; exit 1; }
TOKEN=$(cat "$DATA/operator-token")
mkdir -p "$WORK/cp" && (cd "$WORK/cp" && unzip -q -o "$REPO/$JAR" 'BOOT-INF/*')
chmod -R a+rX "$WORK/cp"
CP="$WORK/cp/BOOT-INF/classes:$WORK/cp/BOOT-INF/lib/*"
PGJDBC=$(ls "$WORK"/cp/BOOT-INF/lib/postgresql-*.jar | head -n 1)
# the restore_command, run by the server's user: one JVM per file, Backstop's reader over the store
cat > "$WORK/walfetch.sh" <<SH
#!/bin/sh
exec "$JAVA_BIN" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -cp "$CP" dev.backstop.pitr.WalFetch "\$@"
SH
chmod 755 "$WORK/walfetch.sh"

api() { curl -fsS -H "Authorization: Bearer $TOKEN" "$@"; }
field() { python3 -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else str(v))' "$1"; }
register() { # addon port
  api -o /dev/null -X PUT "localhost:$PORT/v1/addons/$1" -H 'Content-Type: application/json' \
    -d "{\"appName\":\"bench\",\"engine\":\"postgresql\",\"plan\":\"starter\",\"database\":\"postgres\",\"user\":\"postgres\",
         \"password\":\"unused-with-trust-auth\",\"nodes\":[{\"role\":\"primary\",\"host\":\"127.0.0.1\",\"port\":$2}]}"
}
window_state() { api "localhost:$PORT/v1/addons/$1/pitr" | field state; }
# the window opens once the stream runs and the base backup Backstop asked for is archived through its end
await_streaming() { # addon
  local state=
  for _ in $(seq 1 240); do
    state=$(window_state "$1"); [ "$state" = streaming ] && return 0; sleep 0.5
  done
  log "window of $1 still '$state' after 2 min"; return 1
}
# Backstop busy (base backup, its restore test) would blur a measurement: wait until its JVM idles
await_quiet() { bench/measure.py --await-idle "$BACKSTOP" 0.25 2 40 || log "Backstop still busy after 40 s; measuring anyway"; }
# CPU seconds of a server: the postmaster with its reaped children, plus the children still running
server_cpu() { # data dir
  python3 - "$(head -n 1 "$1/postmaster.pid")" <<'PY'
import os, sys
pm = int(sys.argv[1]); tck = os.sysconf("SC_CLK_TCK")
def fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()
total = sum(int(v) for v in fields(pm)[11:15])
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            f = fields(pid)
        except OSError:
            continue
        if int(f[1]) == pm:
            total += int(f[11]) + int(f[12])
print(f"{total / tck:.2f}")
PY
}

new_server() { # name -> sets SRV_DIR SRV_PORT; a primary with fsync on, replication allowed (initdb --auth=trust)
  SRV_DIR=$WORK/$1; SRV_PORT=$(free_port)
  mkdir -p "$SRV_DIR"; chmod 755 "$SRV_DIR"; [ ${#AS[@]} -gt 0 ] && chown postgres:postgres "$SRV_DIR"
  (cd "$SRV_DIR" && "${AS[@]}" "$PGBIN/initdb" -D "$SRV_DIR/data" --auth=trust -U postgres >/dev/null)
  cat >> "$SRV_DIR/data/postgresql.conf" <<CONF
port = $SRV_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SRV_DIR'
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
max_wal_size = 2GB
CONF
  (cd "$SRV_DIR" && "${AS[@]}" "$PGBIN/pg_ctl" -D "$SRV_DIR/data" -l "$SRV_DIR/server.log" -w start >/dev/null)
  SERVERS+=("$SRV_DIR")
}
sql() { psql -XAtq -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2"; }
# samples "epoch lag_bytes flush_lag_s" of Backstop's walsender every 200 ms until the server goes away
sample_lag() { # port file
  cat > "$2.sql" <<'SQL'
select extract(epoch from clock_timestamp()), pg_wal_lsn_diff(pg_current_wal_flush_lsn(), r.flush_lsn),
  coalesce(extract(epoch from r.flush_lag), 0)
from pg_stat_replication r join pg_replication_slots s on s.active_pid = r.pid where s.slot_name like 'backstop%'
\watch 0.2
SQL
  psql -XAtq -F ' ' -h 127.0.0.1 -p "$1" -U postgres -d postgres -f "$2.sql" < /dev/null > "$2" 2>/dev/null &
  echo $!
}

# a fresh primary with the writer's table, registered, its window open -> sets dir port
archived_server() { # name addon
  new_server "$1"; dir=$SRV_DIR; port=$SRV_PORT
  sql $port "create table numbered(id bigint primary key, note text)"
  register "$2" $port
  await_streaming "$2"; await_quiet
}
# the writer on $port, its lag sampled -> sets writer sampler lsn0 t0
start_writer() { # label lag-file
  sampler=$(sample_lag $port "$WORK/$2")
  lsn0=$(sql $port "select pg_current_wal_flush_lsn()"); t0=$(now)
  rm -f "$WORK/stop"
  "$JAVA_BIN" -cp "$PGJDBC" bench/src/main/java/dev/backstop/bench/PitrWriter.java \
    "jdbc:postgresql://127.0.0.1:$port/postgres" $RATE $THREADS "$WORK/acked-$1" "$WORK/stop" > "$WORK/writer-$1" 2> "$WORK/writer-$1.err" &
  writer=$!
}

# ---------------------------------------------------------------- overhead: pgbench without / with archiving
declare -a OVH=()
if [ "$PGBENCH_SECONDS" -gt 0 ]; then
  new_server ovh; OVH_DIR=$SRV_DIR; OVH_PORT=$SRV_PORT
  log "pgbench: initialising scale $SCALE"
  pgbench -q -i -s $SCALE -h 127.0.0.1 -p $OVH_PORT -U postgres postgres 2>/dev/null
  pgbench_run() { # label -> "label tps server_cpu backstop_cpu"
    local s0 s1 b0 b1 out sampler=
    sql $OVH_PORT "checkpoint"
    [ "$1" = with ] && sampler=$(sample_lag $OVH_PORT "$WORK/lag-pgbench-${#OVH[@]}")
    s0=$(server_cpu "$OVH_DIR/data"); b0=$(bench/measure.py --pid "$BACKSTOP")
    out=$(pgbench -n -c 4 -j 2 -T "$PGBENCH_SECONDS" -h 127.0.0.1 -p $OVH_PORT -U postgres postgres 2>&1)
    s1=$(server_cpu "$OVH_DIR/data"); b1=$(bench/measure.py --pid "$BACKSTOP")
    [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
    echo "$1 $(echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -n 1) $(echo "$s1 - $s0" | bc) $(echo "$b1 - $b0" | bc)"
  }
  for pass in 1 2; do
    log "pgbench pass $pass: without archiving"
    OVH+=("$(pgbench_run without)")
    register "bench-ovh-$pass" $OVH_PORT
    await_streaming "bench-ovh-$pass"; await_quiet
    log "pgbench pass $pass: with archiving"
    OVH+=("$(pgbench_run with)")
    # removed, the addon's stream stops and its slot is dropped: the next pass runs without archiving again
    api -o /dev/null -X DELETE "localhost:$PORT/v1/addons/bench-ovh-$pass"
    for _ in $(seq 1 60); do [ "$(sql $OVH_PORT "select count(*) from pg_replication_slots")" = 0 ] && break; sleep 0.5; done
    [ "$(sql $OVH_PORT "select count(*) from pg_replication_slots")" = 0 ] || { log "slot of bench-ovh-$pass not dropped"; exit 1; }
    await_quiet
  done
  (cd "$OVH_DIR" && "${AS[@]}" "$PGBIN/pg_ctl" -D "$OVH_DIR/data" -m fast -w stop >/dev/null)
  printf '  %s\n' "${OVH[@]}" >&2
fi

# ---------------------------------------------------------------- RPO rounds
declare -a RPO=()
for ((round = 1; round <= ROUNDS; round++)); do
  addon=bench-rpo-$round
  archived_server "rpo-$round" $addon
  # the stock recipe's base: taken after the stream started, so the archive holds its WAL from its start
  pg_basebackup -h 127.0.0.1 -p $port -U postgres -D "$WORK/base-$round" -Ft -X none -c fast
  start_writer $round lag-rpo-$round
  wait_s=$(python3 -c "import random; print(round(random.uniform($WAIT_MIN, $WAIT_MAX), 1))")
  log "round $round: writing for $wait_s s, then SIGKILL to every process of the server"
  sleep "$wait_s"
  lsn1=$(sql $port "select pg_current_wal_flush_lsn()"); t1=$(now)
  pm=$(head -n 1 "$dir/data/postmaster.pid")
  # all at once, as a machine crash: the walsender gets no chance to send what it has not sent
  kill -9 $pm $(pgrep -P $pm)
  rm -rf "$dir/data"
  wait $writer || true
  kill "$sampler" 2>/dev/null || true
  read -r acked last_id wrote_rate < "$WORK/writer-$round"
  # the archiver keeps what it received; its window publishes the latest instant it can vouch for
  sleep 12
  latest=$(api "localhost:$PORT/v1/addons/$addon/pitr" | field latest)

  log "round $round: $acked commits acknowledged ($wrote_rate/s); recovering the archive"
  rdir=$WORK/restore-$round; rport=$(free_port)
  mkdir -p "$rdir/data"; tar -xf "$WORK/base-$round/base.tar" -C "$rdir/data"
  rm -f "$rdir/data/standby.signal" "$rdir/data/postmaster.pid"; touch "$rdir/data/recovery.signal"
  cp "$DATA/secrets.key" "$rdir/master.key"
  chmod -R a+rX "$DATA/archives"
  cat >> "$rdir/data/postgresql.auto.conf" <<CONF
restore_command = 'sh $WORK/walfetch.sh $DATA/archives $addon $rdir/master.key $SEGMENT %f %p'
recovery_target_timeline = 'latest'
archive_mode = off
primary_conninfo = ''
primary_slot_name = ''
CONF
  chmod 700 "$rdir/data"; chmod 600 "$rdir/master.key"
  [ ${#AS[@]} -gt 0 ] && chown -R postgres:postgres "$rdir"
  SERVERS+=("$rdir")
  r0=$(now)
  (cd "$rdir" && "${AS[@]}" "$PGBIN/pg_ctl" -D "$rdir/data" -l "$rdir/server.log" -w -t 600 \
    -o "-p $rport -k $rdir -c listen_addresses=127.0.0.1 -c unix_socket_directories=$rdir" start >/dev/null) \
    || { tail -n 20 "$rdir/server.log" >&2; exit 1; }
  for _ in $(seq 1 1200); do [ "$(sql $rport "select pg_is_in_recovery()")" = f ] && break; sleep 0.1; done
  [ "$(sql $rport "select pg_is_in_recovery()")" = f ] || { log "recovery of round $round did not end"; exit 1; }
  recover_s=$(echo "$(now) - $r0" | bc)
  sql $rport "copy (select id from numbered order by id) to stdout" > "$WORK/restored-$round"
  (cd "$rdir" && "${AS[@]}" "$PGBIN/pg_ctl" -D "$rdir/data" -m immediate -w stop >/dev/null)

  # the archive's objects: whole segments (the steady state) and chunks of the segment in progress
  wal=$DATA/archives/$addon/pitr/wal/00000001
  seg_files=$(find "$wal" -maxdepth 1 -name '*.zst.tink' -printf '%f %s\n')
  chunk_files=$(find "$wal" -mindepth 2 -name '*.zst.tink' -printf '%f %s\n')
  # stock baseline: zstd -1 of the same whole segments, read back through WalFetch
  zstd_bytes=0 segs=0
  while read -r name size; do
    [ -n "$name" ] || continue
    seg=${name%.zst.tink}
    (cd "$WORK" && "${AS[@]}" sh "$WORK/walfetch.sh" "$DATA/archives" $addon "$rdir/master.key" $SEGMENT "$seg" "$rdir/$seg") || { log "WalFetch $seg failed"; exit 1; }
    zstd_bytes=$((zstd_bytes + $(zstd -1 -q -c "$rdir/$seg" | wc -c))); segs=$((segs + 1)); rm -f "$rdir/$seg"
  done <<< "$seg_files"
  RPO+=("$(python3 - "$WORK/acked-$round" "$WORK/restored-$round" "$wrote_rate" "$latest" "$lsn0" "$lsn1" "$t0" "$t1" \
    "$seg_files" "$chunk_files" "$zstd_bytes" "$recover_s" "$WORK/lag-rpo-$round" <<'PY'
import sys, datetime
acked_file, restored_file, rate, latest, lsn0, lsn1, t0, t1, segs, chunks, zstd_bytes, recover_s, lag_file = sys.argv[1:]
acked = [tuple(map(int, l.split())) for l in open(acked_file) if l.strip()]
restored = {int(l) for l in open(restored_file) if l.strip()}
missing = [(i, ms) for i, ms in acked if i not in restored]
last_ack_ms = max(ms for _, ms in acked)
first_ack_ms = min(ms for _, ms in acked)
# the commit rate as acknowledged (the writer's JVM start excluded)
rate = len(acked) / max((last_ack_ms - first_ack_ms) / 1000, 0.001)
span = (last_ack_ms - min(ms for _, ms in missing)) / 1000 if missing else 0.0
lsn = lambda s: (int(s.split("/")[0], 16) << 32) + int(s.split("/")[1], 16)
wal_rate = (lsn(lsn1) - lsn(lsn0)) / (float(t1) - float(t0))
seg_sizes = [int(l.split()[1]) for l in segs.splitlines() if l.strip()]
chunk_plain = chunk_stored = 0
for l in chunks.splitlines():
    if l.strip():
        name, size = l.split()
        a, b = name.split(".")[0].split("-")
        chunk_plain += int(b, 16) - int(a, 16); chunk_stored += int(size)
behind = ""
if latest:
    lt = datetime.datetime.fromisoformat(latest.replace("Z", "+00:00")).timestamp()
    behind = f"{last_ack_ms / 1000 - lt:.2f}"
lags = []
for l in open(lag_file):
    p = l.split()
    if len(p) == 3 and float(t0) <= float(p[0]) <= float(t1):
        lags.append((int(float(p[1])), float(p[2])))
# one line: acked missing missing_s span_s extra behind_latest wal_rate segs seg_stored zstd chunk_plain chunk_stored recover lags...
print(len(acked), len(missing), f"{len(missing) / rate:.3f}", f"{span:.3f}", len(restored - {i for i, _ in acked}), behind or "-",
      f"{wal_rate:.0f}", len(seg_sizes), sum(seg_sizes), zstd_bytes, chunk_plain, chunk_stored, recover_s,
      ",".join(f"{b}:{s:.3f}" for b, s in lags) or "-", f"{rate:.0f}")
PY
)")
  log "round $round: $(echo "${RPO[-1]}" | cut -d' ' -f1-6)"
  api -o /dev/null -X DELETE "localhost:$PORT/v1/addons/$addon"
  rm -rf "$rdir/data" "$WORK/base-$round"
done

# ---------------------------------------------------------------- storage: the writer's own WAL, in whole segments
STORAGE=
if [ "$STORAGE_SECONDS" -gt 0 ]; then
  addon=bench-storage
  archived_server storage $addon
  start_writer storage lag-storage
  log "storage: the writer alone for $STORAGE_SECONDS s"
  sleep "$STORAGE_SECONDS"
  lsn1=$(sql $port "select pg_current_wal_flush_lsn()"); t1=$(now)
  echo "$t0 $t1" > "$WORK/lag-storage.window"
  touch "$WORK/stop"; wait $writer || true
  kill "$sampler" 2>/dev/null || true
  sleep 3 # the last chunk stored
  cp "$DATA/secrets.key" "$WORK/storage.key"; chmod 600 "$WORK/storage.key"
  [ ${#AS[@]} -gt 0 ] && chown postgres:postgres "$WORK/storage.key"
  chmod -R a+rX "$DATA/archives"
  mkdir -p "$WORK/segments"; chmod 777 "$WORK/segments"
  wal=$DATA/archives/$addon/pitr/wal/00000001
  # the whole segments lying entirely inside the writer's WAL
  inside=$(find "$wal" -maxdepth 1 -name '*.zst.tink' -printf '%f %s\n' | python3 -c '
import sys
seg, lo, hi = int(sys.argv[1]), *[(int(v.split("/")[0], 16) << 32) + int(v.split("/")[1], 16) for v in sys.argv[2:4]]
for line in sys.stdin:
    name, size = line.split()
    start = (int(name[8:16], 16) << 32) + int(name[16:24], 16) * seg
    if start >= lo and start + seg <= hi:
        print(name, size)' $SEGMENT "$lsn0" "$lsn1")
  segs=0 stored=0 zstd_bytes=0
  while read -r name size; do
    [ -n "$name" ] || continue
    seg=${name%.zst.tink}
    (cd "$WORK" && "${AS[@]}" sh "$WORK/walfetch.sh" "$DATA/archives" $addon "$WORK/storage.key" $SEGMENT "$seg" "$WORK/segments/$seg") \
      || { log "WalFetch $seg failed"; exit 1; }
    zstd_bytes=$((zstd_bytes + $(zstd -1 -q -c "$WORK/segments/$seg" | wc -c))); rm -f "$WORK/segments/$seg"
    segs=$((segs + 1)); stored=$((stored + size))
  done <<< "$inside"
  wal_rate=$(python3 -c "import sys; lsn = lambda s: (int(s.split('/')[0], 16) << 32) + int(s.split('/')[1], 16); print(round((lsn('$lsn1') - lsn('$lsn0')) / ($t1 - $t0)))")
  commits=$(wc -l < "$WORK/acked-storage")
  STORAGE="$wal_rate $segs $stored $zstd_bytes $(echo "$commits / ($t1 - $t0)" | bc)"
  log "storage: $STORAGE"
  (cd "$dir" && "${AS[@]}" "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null)
  api -o /dev/null -X DELETE "localhost:$PORT/v1/addons/$addon"
fi

# ---------------------------------------------------------------- the rows
EXTRA=$(printf '%s\n' "${SETTINGS[@]}" | grep -v -e '^--set$' -e '^backstop.wal-archiver.enabled=true$' | paste -sd' ' || true)
RESULT=$(python3 - "$EXTRA" "$SEGMENT" "$STORAGE" "$WORK/lag-storage" "${#OVH[@]}" "${OVH[@]}" "${RPO[@]}" <<'PY'
import sys, datetime, os
extra, segment, storage, storage_lag, n_ovh = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
ovh = [l.split() for l in sys.argv[6:6 + n_ovh]]
rpo = [l.split() for l in sys.argv[6 + n_ovh:]]
d = str(datetime.date.today()) + (f" (settings: `{extra}`)" if extra else "")
rows = []
def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(p / 100 * len(v) + 0.5)) - 1))] if v else float("nan")
mib = lambda n: n / 1024 / 1024
if rpo:
    miss = [int(r[1]) for r in rpo]; miss_s = [float(r[2]) for r in rpo]; span = [float(r[3]) for r in rpo]
    acked = [int(r[0]) for r in rpo]; extra = [int(r[4]) for r in rpo]
    worst = max(miss_s)
    behind = [r[5] for r in rpo]
    rates = " / ".join(r[14] for r in rpo)
    rows.append(f"| {d} | RPO: acknowledged commits missing from the recovered archive, {len(rpo)} crashes (SIGKILL to every server process, data directory deleted) under a steady load ({rates} commits/s acknowledged) | "
                + " / ".join(f"{m} of {a}" for m, a in zip(miss, acked)) + " | "
                + " / ".join(f"{s:.3f} s" for s in miss_s) + f" | **worst {worst:.3f} s of commits** (goal ≤ 1 s: {'met' if worst <= 1 else 'NOT met'}) | "
                + f"span from the oldest missing ack to the last ack: {' / '.join(f'{s:.2f} s' for s in span)}; "
                + f"committed but unacknowledged rows also recovered: {' / '.join(map(str, extra))}; "
                + f"recovery (base + WAL through WalFetch, one JVM per file): {' / '.join(f'{float(r[12]):.1f} s' for r in rpo)} |")
    rows.append(f"| {d} | the window's `latest` (the newest instant a restore through the API may target), behind the last acknowledged commit, 12 s after the crash | "
                + " / ".join(b + " s" for b in behind) + " | — | informative: commits after `latest` are in the archive but a restore by time cannot ask for them (`latest` is the newest 1 s probe of the primary whose position is archived) | |")
lags = [tuple(map(float, x.split(":"))) for r in rpo if r[13] != "-" for x in r[13].split(",")]
if storage and os.path.exists(storage_lag):
    t0, t1 = map(float, open(storage_lag + ".window").read().split())
    lags += [(float(p[1]), float(p[2])) for p in (l.split() for l in open(storage_lag)) if len(p) == 3 and t0 <= float(p[0]) <= t1]
if lags:
    lb = [b for b, _ in lags]; ls = [s for _, s in lags]
    rows.append(f"| {d} | lag under the writer's load ({' and '.join(w for w, on in (('RPO rounds', rpo), ('storage run', storage)) if on)}): server's flushed WAL − archiver's acknowledged (store-durable) LSN, every 200 ms ({len(lags)} samples) | "
                + f"p50 {pct(lb, 50)/1024:.0f} KiB, p99 {pct(lb, 99)/1024:.0f} KiB, max {max(lb)/1024:.0f} KiB | "
                + f"`flush_lag` p50 {pct(ls, 50)*1000:.0f} ms, p99 {pct(ls, 99)*1000:.0f} ms, max {max(ls)*1000:.0f} ms | — | chunks every 200 ms (default `chunk-interval`) |")
if storage:
    wal_rate, segs, stored, zstd_b, commits = map(int, storage.split())
    day = 86400 * wal_rate
    gib = lambda n: n / 1024**3
    if segs:
        ratio = stored / (segs * segment); zratio = zstd_b / (segs * segment)
        rows.append(f"| {d} | storage: the writer alone ({commits} commits/s, 400-character hex notes), raw WAL {mib(wal_rate):.2f} MiB/s = {gib(day):.1f} GiB/day | "
                    + f"archive {gib(day * ratio):.1f} GiB/day ({ratio:.3f} of raw; {segs} whole segments written by the load) | stock `zstd -1` of the same segments {gib(day * zratio):.1f} GiB/day ({zratio:.3f}) | "
                    + f"archive **{stored / zstd_b:.3f}×** zstd -1's | encrypted, checksummed; a segment in progress is kept as 200 ms chunks until complete |")
    else:
        rows.append(f"| {d} | storage: no whole segment written by the load (run too short) | raw WAL {mib(wal_rate):.2f} MiB/s | | — | |")
if ovh:
    without = [float(o[1]) for o in ovh if o[0] == "without"]; with_ = [float(o[1]) for o in ovh if o[0] == "with"]
    fmt = lambda label: " / ".join(f"{float(o[1]):.0f} TPS (server CPU {float(o[2]):.1f} s, Backstop CPU {float(o[3]):.1f} s)" for o in ovh if o[0] == label)
    ratio = (sum(with_) / len(with_)) / (sum(without) / len(without))
    rows.append(f"| {d} | overhead on the customer: pgbench -c 4 -j 2 (scale 20, TPC-B-like), without archiving | {fmt('without')} | | | interleaved: without, with, without, with |")
    rows.append(f"| {d} | the same with Backstop archiving the server's WAL | {fmt('with')} | | **{ratio:.3f}×** the TPS without (goal ≥ 0.95: {'met' if ratio >= 0.95 else 'NOT met'}) | |")
print("\n".join(rows))
PY
)
# the lag under pgbench, for the record
PGB_LAG=$(cat "$WORK"/lag-pgbench-[0-9] 2>/dev/null | python3 -c '
import sys
b = sorted(int(float(l.split()[1])) for l in sys.stdin if len(l.split()) == 3)
if b:
    p = lambda q: b[min(len(b) - 1, max(0, int(round(q / 100 * len(b) + 0.5)) - 1))]
    print(f"p50 {p(50)/1024:.0f} KiB, p99 {p(99)/1024:.0f} KiB, max {b[-1]/1024:.0f} KiB ({len(b)} samples)")' || true)
[ -n "$PGB_LAG" ] && RESULT+=$'\n'"| $(date +%F) | lag under pgbench (with archiving) | $PGB_LAG | | — | the archiver's store-durable LSN behind the server's flushed WAL |"
if [ -z "$RECORD" ]; then echo "$RESULT"; exit 0; fi
bench/record.py "pitr capture results" "$(cat <<'MD'
## Point-in-time recovery: capture (`bench/pitr.sh`)

`bench/pitr-capture.sh` (run by `bench/pitr.sh`): Backstop embedded with the WAL archiver on and its
default settings (chunks every 200 ms), throwaway PostgreSQL 15 primaries (fsync on, default
`synchronous_commit`) registered as Starter addons, on this 2-core machine. RPO: a writer commits numbered
rows (4 connections, 400-character hex notes) and logs each acknowledged id; every server process is killed
with SIGKILL at once at a random moment and the data directory deleted; the archive is then recovered by the
stock recipe (a `pg_basebackup` tar taken after the stream started, `restore_command` reading the store
through Backstop's `WalFetch`, recovery to the end of the WAL) and the acknowledged ids missing from it
counted, also as seconds of commits at the writer's rate (goal ≤ 1 s). Overhead: pgbench TPS with and without
archiving, interleaved, Backstop running in both (goal ≥ 0.95×); CPU seconds of the server (postmaster and
every backend) and of Backstop's JVM beside each run. Lag: sampled on the primary from `pg_stat_replication`.
Storage: whole archived segments (what stays once a segment is complete) against the raw WAL and stock
`zstd -1` of the same segments, per day at the writer's WAL rate.

| date | what | figures (each run) | more | result | notes |
|---|---|---|---|---|---|
MD
)" "$RESULT"
