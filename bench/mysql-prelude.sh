#!/usr/bin/env bash
# Benchmark (an A/B, printed, not recorded): the MariaDB restore test's session prelude, on the machine's MariaDB.
# The same dump of bench/backup.sh's MariaDB database (bench/backup.sh --prepare) restored by `mysql` with no
# prelude (stock), with MysqlDumpFilter.SESSION_PRELUDE (no unique or foreign-key checks) and with it plus
# `autocommit = 0` (its value until 2026-12-03), interleaved, twice, under innodb_flush_log_at_trx_commit 1
# then 0. Each row gives the wall time, the client's CPU (mysql and cat) and the server's: mariadbd's own CPU
# over the restore, its background threads included, which the client's time does not show.
# Results: docs/benchmarks.md (restore test section).
set -euo pipefail
cd "$(dirname "$0")/.."
MYDB=${MYDB:-backstop_bench_my_2000000}
MY="mysql -h 127.0.0.1 -P 3306 -u root --protocol=TCP"
WORK=bench/work; mkdir -p "$WORK"; DUMP=$WORK/my-prelude.sql
[ -s $DUMP ] || mysqldump -h 127.0.0.1 -P 3306 -u root --protocol=TCP --single-transaction --quick --no-tablespaces \
  --routines --events --triggers --default-character-set=binary "$MYDB" > $DUMP
ls -l $DUMP >&2
SERVER=$(cat "$($MY -N -e 'SELECT @@pid_file')")   # the server runs on this machine; its pid file is readable here
server_cpu() { bench/measure.py --pid "$SERVER"; }
run() { # name, prelude
  local db=ab_restore w c s0 s1
  $MY -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
  sync
  s0=$(server_cpu)
  read -r w c < <(bench/measure.py "{ printf '%s' \"\$PRELUDE\"; cat $DUMP; [ -z \"\$PRELUDE\" ] || printf '\\nCOMMIT;\\n'; } \
    | $MY --default-character-set=binary $db")
  s1=$(server_cpu)
  printf '%s\t%-34s\twall %5.1f s\tclient CPU %4.1f s\tserver CPU %5.1f s\n' "$FLUSH" "$1" "$w" "$c" "$(echo "$s1 - $s0" | bc -l)"
}
export PRELUDE
for FLUSH in 1 0; do
  $MY -e "SET GLOBAL innodb_flush_log_at_trx_commit = $FLUSH"
  for round in 1 2; do
    PRELUDE="" run stock
    PRELUDE="SET SESSION unique_checks = 0, foreign_key_checks = 0;"$'\n' run "prelude (Backstop's)"
    PRELUDE="SET SESSION unique_checks = 0, foreign_key_checks = 0, autocommit = 0;"$'\n' run "prelude with autocommit = 0 (before)"
  done
done
$MY -e "SET GLOBAL innodb_flush_log_at_trx_commit = 1; DROP DATABASE IF EXISTS ab_restore"
