#!/usr/bin/env bash
# Benchmark: point-in-time recovery (issues #16, #17): the capture side (bench/pitr-capture.sh: RPO after a
# crash, overhead on the customer's server, storage, lag), then the restore side (bench/pitr-restore.sh) when
# present. Arguments go to pitr-capture.sh; each script writes its own section of docs/benchmarks.md.
#
#   bench/pitr.sh [pitr-capture.sh options]
set -euo pipefail
cd "$(dirname "$0")"
./pitr-capture.sh "$@"
if [ -x ./pitr-restore.sh ]; then
  ./pitr-restore.sh
fi
