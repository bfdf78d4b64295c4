#!/usr/bin/env bash
# Benchmark: the scheduler's busiest hour. 100,000 addons, a third due at 01:00 Europe/Paris; the real
# ticker and catalog on an in-process broker and store, against a scan-everything baseline in the same
# run. Appends the result to docs/benchmarks.md.   bench/scheduler.sh [ADDONS]
set -euo pipefail
cd "$(dirname "$0")/.."
./dev mvn -q -pl bench -am install -DskipTests
CP=$(./dev mvn -q -pl bench dependency:build-classpath -Dmdep.outputFile=/dev/stdout)
ROWS=$(./dev java -Xmx2g -cp "bench/target/classes:$CP" dev.backstop.bench.SchedulerBench "${1:-100000}")
echo "$ROWS"
python3 - "$ROWS" <<'PY'
import sys, os
rows = sys.argv[1].strip() + "\n"
path = "docs/benchmarks.md"
text = open(path).read()
marker = "<!-- scheduler results -->"
if marker not in text:
    text += ("\n## Scheduler, the busiest hour (`bench/scheduler.sh`)\n\n"
             "100,000 addons, a third of them due at 01:00 Europe/Paris, ticked every 15 s of a simulated clock "
             "through that hour. CPU is the whole process, which also runs the in-process broker and store.\n\n"
             "| date | load | what | wall | CPU | result |\n|---|---|---|---|---|---|\n" + marker + "\n")
text = text.replace(marker + "\n", marker + "\n" + rows, 1)
open(path, "w").write(text)
PY
