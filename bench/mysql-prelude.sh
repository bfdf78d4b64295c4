#!/usr/bin/env bash
# Benchmark (an A/B, printed, not recorded): the MariaDB restore test's session prelude, on the machine's MariaDB.
# The same dump of bench/backup.sh's MariaDB database (bench/backup.sh --prepare) restored by `mysql` with no
# prelude (stock), with MysqlDumpFilter.SESSION_PRELUDE (autocommit = 0) and with it minus autocommit, interleaved,
# twice, under innodb_flush_log_at_trx_commit 1 then 0. Results: docs/benchmarks.md (restore test section).
set -euo pipefail
cd "$(dirname "$0")/.."
MYDB=${MYDB:-backstop_bench_my_2000000}
MY="mysql -h 127.0.0.1 -P 3306 -u root --protocol=TCP"
WORK=bench/work; mkdir -p "$WORK"; DUMP=$WORK/my-prelude.sql
[ -s $DUMP ] || mysqldump -h 127.0.0.1 -P 3306 -u root --protocol=TCP --single-transaction --quick --no-tablespaces \
  --routines --events --triggers --default-character-set=binary "$MYDB" > $DUMP
ls -l $DUMP >&2
run() { # name, prelude
  local db=ab_restore
  $MY -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
  local t0=$(date +%s.%N)
  { printf "%s" "$2"; cat $DUMP; if [ -n "$2" ]; then printf "\nCOMMIT;\n"; fi; } | $MY --default-character-set=binary $db
  local t1=$(date +%s.%N)
  printf '%s\t%s\t%.1f s\n' "$FLUSH" "$1" "$(echo "$t1 - $t0" | bc)"
}
for FLUSH in 1 0; do
  $MY -e "SET GLOBAL innodb_flush_log_at_trx_commit = $FLUSH"
  for round in 1 2; do
    run stock ""
    run "prelude autocommit=0" "SET SESSION unique_checks = 0, foreign_key_checks = 0, autocommit = 0;"$'\n'
    run "prelude without autocommit" "SET SESSION unique_checks = 0, foreign_key_checks = 0;"$'\n'
  done
done
$MY -e "SET GLOBAL innodb_flush_log_at_trx_commit = 1; DROP DATABASE IF EXISTS ab_restore"
