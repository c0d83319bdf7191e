#!/usr/bin/env bash
# Benchmarks against a real node "bench" on port ${EMBEDDER_BENCH_PORT:-9203} (default plugin zip: bge-small only).
#   scripts/bench.sh query-latency [-Dbench.rounds=N]   text_knn vs knn with a precomputed vector, on CISI
#   scripts/bench.sh load [-Dbench.minutes=3]            concurrent bulks (embed pipeline) and text_knn searches
#   scripts/bench.sh rescore [-Dbench.rounds=N]         BM25 alone vs BM25 → MaxSim rescoring (windows 100, 1000) on CISI
#   scripts/bench.sh maxsim [-Dbench.iterations=5]       JMH: the MaxSim kernel per storage type (no node)
#   scripts/bench.sh first-request [-Dbench.rounds=N]    first request after a load on first use / after _load / warm
#   scripts/bench.sh ingest-batch [-Dbench.words=N]      bulks through the embed pipeline by batch_size (1, 4, 32)
# Results are printed and written to target/bench-*.md; record them in BENCHMARKS.md with the command.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source-path=SCRIPTDIR source=common.sh
. scripts/common.sh
port=${EMBEDDER_BENCH_PORT:-9203}
case "${1:-}" in
  query-latency) class=QueryLatencyBench ;;
  load) class=LoadBench ;;
  rescore) class=RescoreLatencyBench ;;
  maxsim) class=MaxSimBenchMain ;;
  first-request) class=FirstRequestBench ;;
  ingest-batch) class=IngestBatchBench ;;
  *) sed -n '2,9s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
shift

if [ "$class" = MaxSimBenchMain ]; then
  # a micro-benchmark in this JVM's forks, no node: test classes (JMH harness generated at test-compile) + test classpath
  mvn -B -q test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench-classpath.txt
  java --add-modules jdk.incubator.vector "$@" -cp "target/test-classes:target/classes:$(cat target/bench-classpath.txt)" "io.embedder.bench.$class"
  exit 0
fi

mvn -B -q package -DskipTests
zip=$(newest_zip)
scripts/node.sh install bench "$zip"
trap 'scripts/node.sh stop bench || true' EXIT
scripts/node.sh start bench "$port"
mvn -B -q failsafe:integration-test failsafe:verify -DskipITs=false -Dit.test="$class" -Dtests.cluster="127.0.0.1:$port" \
  -Dbench.node.pid="$(cat "$(scripts/node.sh home bench)/opensearch.pid")" "$@"
cat target/bench-*.md
