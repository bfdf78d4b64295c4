#!/usr/bin/env bash
# Benchmark: the gateway's listing latency with 1,000,000 backups in the catalog at 200 requests/s, and
# the download throughput of a 1 GiB archive against nginx serving the same file, in the same run.
# Appends the result to docs/benchmarks.md.   bench/gateway.sh [ADDONS] [PER_ADDON] [RATE] [SECONDS] [ARCHIVE_MIB]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || { apt-get install -y -qq nginx-core >/dev/null 2>&1 || apt-get install -y -qq nginx >/dev/null; }
./dev mvn -q -pl bench,api-gateway -am install -DskipTests
CP=$(./dev mvn -q -pl bench dependency:build-classpath -Dmdep.outputFile=/dev/stdout)
ROWS=$(PATH="$PATH:/usr/sbin" ./dev java -Xmx3g -cp "bench/target/classes:$CP" \
  dev.backstop.bench.GatewayBench "${1:-10000}" "${2:-100}" "${3:-200}" "${4:-60}" "${5:-1024}") || { echo "$ROWS"; exit 1; }
bench/record.py "gateway results" "$(cat <<'MD'
## Gateway: listing latency and download throughput (`bench/gateway.sh`)

Listing: 1,000,000 backups in the catalog (10,000 addons × 100), `GET …/backups` of random addons at a fixed
arrival rate, latency counted from when each request was due. Goal: p99 ≤ 20 ms at 200 req/s.
Download: a 1 GiB archive through the gateway against nginx serving the same bytes from disk. Goal ≥ 0.8×.
The process also runs the in-process broker and store.

| date | path | what | result | | |
|---|---|---|---|---|---|
MD
)" "$ROWS"
