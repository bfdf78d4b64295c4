#!/usr/bin/env bash
# Benchmark: the dump worker's archive pipeline alone (dump tool → StreamingArchive: zstd, encryption, size and
# SHA-256 → fsync), in one JVM, against the stock same-work pipe (`DUMP | zstd -1 -T2 > file && sync file`),
# interleaved, on bench/backup.sh's databases (run `bench/backup.sh --prepare` first). Where bench/backup.sh
# measures Backstop end to end (HTTP, Kafka, the embedded broker and store beside the dump on the same cores),
# this row measures the pipeline without the service around it, so the two together say which part a gap is
# in. Appends the rows to docs/benchmarks.md.   ROUNDS=3 bench/pipeline.sh [--rows N]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=2600000
[ "${1:-}" = "--rows" ] && ROWS="$2"
NOTES=$((ROWS * 11 / 10)) MY_ROWS=$((ROWS * 10 / 13))
DB=backstop_bench_${ROWS} TEXTDB=backstop_bench_text_${NOTES} MYDB=backstop_bench_my_${MY_ROWS}
export PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres MYSQL_PWD=bench-pw
MYDUMP="mysqldump -h 127.0.0.1 -P 3306 -u backstop_bench --protocol=TCP --single-transaction --quick --no-tablespaces --routines --events --triggers --default-character-set=binary"
size_mib() { psql -XtAc "select pg_database_size('$1') / 1048576" postgres; }
my_mib() { mysql -h 127.0.0.1 -P 3306 -u root --protocol=TCP -NBe "select round(sum(data_length + index_length) / 1048576) from information_schema.tables where table_schema = '$MYDB'" </dev/null; }
for db in "$DB" "$TEXTDB"; do
  psql -XtAc "select 1 from pg_database where datname='$db'" postgres | grep -q 1 || { echo "no database $db: run bench/backup.sh --prepare" >&2; exit 1; }
done
./dev mvn -q -pl bench -am install -DskipTests
CP=$(./dev mvn -q -pl bench dependency:build-classpath -Dmdep.outputFile=/dev/stdout)
RESULT=$(./dev java -cp "bench/target/classes:$CP" dev.backstop.bench.ArchivePipelineBench bench/work/pipeline "${ROUNDS:-3}" \
  "$(size_mib "$TEXTDB")" "PostgreSQL, text" "pg_dump -Fc -Z0 -d $TEXTDB" \
  "$(size_mib "$DB")" "PostgreSQL, mixed" "pg_dump -Fc -Z0 -d $DB" \
  "$(MYSQL_PWD= my_mib)" "MariaDB, mixed" "$MYDUMP $MYDB")
bench/record.py "backup pipeline results" "$(cat <<'MD'
## The worker's archive pipeline alone (`bench/pipeline.sh`)

The dump tool's output pumped into `StreamingArchive` in one JVM as the worker does (the tool through `stdbuf`
with the worker's default output buffer, zstd level 1 on the worker's default threads, encrypted head last with a
data key, size and SHA-256 read back), then fsynced; the same pipeline with the tool writing 4 KiB at a time, as
the C library buffers a pipe, is a row of its own;
against the stock same-work pipe on the same dump, interleaved, a first round of each not counted. No broker,
store, HTTP or job runner: the gap between this and the end-to-end rows above is the service around the
pipeline. CPU: user + system of the JVM (all threads) and of the dump tool; for the stock pipe, of its processes.

| date | database | what | wall (each run) | CPU (best run) | throughput | output | ratio, best vs best |
|---|---|---|---|---|---|---|---|
MD
)" "$RESULT"
