#!/usr/bin/env bash
# Benchmark: each service's view rebuilt from offset 0 into an empty database, one service at a time, on
# a history of 1,000,000 backups over 10,000 addons (bench/replay.sh [BACKUPS] [ADDONS]). Appends the
# result to docs/benchmarks.md. Not run by the test suite (OperationsRunbookIT proves the rebuild at 10,000).
set -euo pipefail
cd "$(dirname "$0")/.."
# one reactor, nothing installed: the modules' classes come from their target/ (~/.m2 is shared with other checkouts)
CP_FILE="$PWD/bench/target/replay-classpath.txt"
./dev mvn -q -pl bench -am compile dependency:build-classpath -Dmdep.outputFile="$CP_FILE"
CP=$(cat "$CP_FILE")
ROWS=$(./dev java -Xmx12g -cp "bench/target/classes:$CP" dev.backstop.bench.ReplayBench "${1:-1000000}" "${2:-10000}") \
  || { echo "$ROWS"; exit 1; }
bench/record.py "replay results" "$(cat <<'MD'
## A full rebuild per service (`bench/replay.sh`)

Each service alone, started on an empty in-process store, reads every topic it reads from offset 0 (the
runbook's *Rebuild one service's view into an empty database*) until its groups have committed the end.
The process also runs the in-process broker and store; the machine is shared with builds, so figures
move by tens of percent between runs.

| date | history | what | wall | CPU |
|---|---|---|---|---|
MD
)" "$ROWS"
