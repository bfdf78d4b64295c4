#!/usr/bin/env bash
# Benchmark: retention rebuilt by replay. 10,000 addons × 100 outcomes over a year (1,000,000 events),
# read from offset 0 by an empty retention service, against the policy alone in memory, in the same
# run. Appends the result to docs/benchmarks.md.   bench/retention.sh [ADDONS] [PER_ADDON]
set -euo pipefail
cd "$(dirname "$0")/.."
./dev mvn -q -pl bench -am install -DskipTests
CP=$(./dev mvn -q -pl bench dependency:build-classpath -Dmdep.outputFile=/dev/stdout)
ROWS=$(./dev java -Xmx6g -cp "bench/target/classes:$CP" dev.backstop.bench.RetentionBench "${1:-10000}" "${2:-100}") || { echo "$ROWS"; exit 1; }
bench/record.py "retention results" "$(cat <<'MD'
## Retention, rebuilt by replay (`bench/retention.sh`)

An empty retention service reads a year of backup outcomes from offset 0 and evaluates every addon.
Goal: ≤ 60 s for 1,000,000 outcomes over 10,000 addons. The process also runs the in-process broker and store.

| date | load | what | wall | CPU | memory |
|---|---|---|---|---|---|
MD
)" "$ROWS"
