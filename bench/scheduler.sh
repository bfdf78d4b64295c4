#!/usr/bin/env bash
# Benchmark: the scheduler's busiest hour. 100,000 addons, a third due at 01:00 Europe/Paris; the real
# ticker and catalog on an in-process broker and store, against a scan-everything baseline in the same
# run. Appends the result to docs/benchmarks.md.   bench/scheduler.sh [ADDONS]
set -euo pipefail
cd "$(dirname "$0")/.."
./dev mvn -q -pl bench -am install -DskipTests
CP=$(./dev mvn -q -pl bench dependency:build-classpath -Dmdep.outputFile=/dev/stdout)
ROWS=$(./dev java -Xmx2g -cp "bench/target/classes:$CP" dev.backstop.bench.SchedulerBench "${1:-100000}") || { echo "$ROWS"; exit 1; }
bench/record.py "scheduler results" "$(cat <<'MD'
## Scheduler, the busiest hour (`bench/scheduler.sh`)

100,000 addons, a third of them due at 01:00 Europe/Paris, ticked every 15 s of a simulated clock through
that hour. Process CPU includes the in-process broker and store; the ticker thread's CPU is the scheduler's own.

| date | load | what | wall | CPU | result |
|---|---|---|---|---|---|
MD
)" "$ROWS"
