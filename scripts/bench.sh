#!/usr/bin/env bash
# Benchmarks against a real node ${EMBEDDER_BENCH_NODE:-bench} on port ${EMBEDDER_BENCH_PORT:-9203} (default zip: bge-small only).
#   scripts/bench.sh query-latency [-Dbench.rounds=N]   text_knn vs knn with a precomputed vector, on CISI
#   scripts/bench.sh load [-Dbench.minutes=3]            concurrent bulks (embed pipeline) and text_knn searches
#   scripts/bench.sh rescore [-Dbench.rounds=N]         BM25 alone vs BM25 → MaxSim rescoring (windows 100, 1000) on CISI
#   scripts/bench.sh maxsim [-Dbench.iterations=5]       JMH: the MaxSim kernel per storage type (no node)
#   scripts/bench.sh first-request [-Dbench.rounds=N]    first request after a load on first use / after _load / warm
#   scripts/bench.sh ingest-batch [-Dbench.words=N]      bulks through the embed pipeline by batch_size (1, 4, 32)
#   scripts/bench.sh ingest [-Dbench.rounds=3] [-Dbench.warmup=1] [-Dbench.docs=N]
#                                                        our embed pipeline vs the embedder core vs ml-commons +
#                                                        neural-search on CISI, text_knn latency under ingest (BENCHMARKS.md)
# Results are printed and written to target/bench-*.md; record them in BENCHMARKS.md with the command.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source-path=SCRIPTDIR source=common.sh
. scripts/common.sh
node=${EMBEDDER_BENCH_NODE:-bench}
port=${EMBEDDER_BENCH_PORT:-9203}
case "${1:-}" in
  query-latency) class=QueryLatencyBench ;;
  load) class=LoadBench ;;
  rescore) class=RescoreLatencyBench ;;
  maxsim) class=MaxSimBenchMain ;;
  first-request) class=FirstRequestBench ;;
  ingest-batch) class=IngestBatchBench ;;
  ingest) class=IngestBench ;;
  *) sed -n '2,12s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
what=$1
shift

if [ "$class" = MaxSimBenchMain ]; then
  # a micro-benchmark in this JVM's forks, no node: test classes (JMH harness generated at test-compile) + test classpath
  mvn -B -q test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench-classpath.txt
  java --add-modules jdk.incubator.vector "$@" -cp "target/test-classes:target/classes:$(cat target/bench-classpath.txt)" "io.embedder.bench.$class"
  exit 0
fi

pom_prop() { sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" pom.xml | head -1; }

# The ingest bench compares with OpenSearch's own path: ml-commons (needs job-scheduler) hosting the same ONNX model
# and neural-search's text_embedding processor, beside k-NN and this plugin, on the same node. ml-commons runs ONNX
# through DJL, which also loads PyTorch: offline, its deploy fails until DJL's PyTorch cache is filled, which is done
# here from the Maven Central jars before the node's first start.
pytorch_version=2.5.1
pytorch_jni_version=2.5.1-0.32.0
install_ingest_node() {
  local zip=$1 v ml home cache_dir djl tmp
  v=$(pom_prop knn.version)
  ml=$(cached_artifact "org.opensearch.plugin:opensearch-ml-plugin:$v:zip" "opensearch-ml-plugin-$v.zip")
  scripts/node.sh install "$node" "$zip" \
    --plugin "$(cached_artifact "org.opensearch.plugin:opensearch-job-scheduler:$v:zip" "opensearch-job-scheduler-$v.zip")" \
    --plugin "$ml" \
    --plugin "$(cached_artifact "org.opensearch.plugin:neural-search:$v:zip" "neural-search-$v.zip")" \
    --setting plugins.ml_commons.only_run_on_ml_node=false \
    --setting plugins.ml_commons.allow_registering_model_via_url=true \
    --setting 'plugins.ml_commons.trusted_url_regex=^http://127\.0\.0\.1:[0-9]+/.*$' \
    --setting plugins.ml_commons.native_memory_threshold=100 \
    --setting plugins.ml_commons.jvm_heap_memory_threshold=100
  [ "$(uname -m)" = x86_64 ] || { echo "bench.sh ingest: DJL's PyTorch cache is filled for linux-x86_64 only" >&2; exit 1; }
  # the JNI library is named after the DJL version ml-commons bundles (its api-<version>.jar)
  djl=$("$JAVA_HOME/bin/jar" tf "$ml" | sed -n 's:^api-\([0-9.]*\)\.jar$:\1:p' | head -1)
  [ -n "$djl" ] || { echo "bench.sh ingest: no DJL api jar in $ml" >&2; exit 1; }
  home=$(scripts/node.sh home "$node")
  cache_dir=$home/data/ml_cache/pytorch/$pytorch_version-cpu-precxx11-linux-x86_64
  tmp=$(mktemp -d)
  (cd "$tmp" &&
    "$JAVA_HOME/bin/jar" xf "$(cached_artifact "ai.djl.pytorch:pytorch-native-cpu:$pytorch_version:jar:linux-x86_64" \
      "pytorch-native-cpu-$pytorch_version-linux-x86_64.jar")" pytorch/cpu/linux-x86_64 &&
    "$JAVA_HOME/bin/jar" xf "$(cached_artifact "ai.djl.pytorch:pytorch-jni:$pytorch_jni_version" "pytorch-jni-$pytorch_jni_version.jar")" \
      jnilib/linux-x86_64/cpu-precxx11/libdjl_torch.so)
  mkdir -p "$cache_dir"
  mv "$tmp"/pytorch/cpu/linux-x86_64/* "$cache_dir/"
  mv "$tmp/jnilib/linux-x86_64/cpu-precxx11/libdjl_torch.so" "$cache_dir/$djl-libdjl_torch.so"
  rm -rf "$tmp"
  if [ "$(id -u)" -eq 0 ]; then chown -R opensearch-embedder: "$home/data"; fi
}

if [ "$what" = ingest ]; then
  mvn -B -q package -DskipTests -Pquantized   # bundles the int8 variant beside the default model
  zip=$(newest_zip)
  install_ingest_node "$zip"
else
  mvn -B -q package -DskipTests
  zip=$(newest_zip)
  scripts/node.sh install "$node" "$zip"
fi
trap 'scripts/node.sh stop "$node" || true' EXIT
scripts/node.sh start "$node" "$port"
mvn -B -q failsafe:integration-test failsafe:verify -DskipITs=false -Dit.test="$class" -Dtests.cluster="127.0.0.1:$port" \
  -Dbench.node.pid="$(cat "$(scripts/node.sh home "$node")/opensearch.pid")" \
  -Dbench.model.port="${EMBEDDER_BENCH_MODEL_PORT:-$((port + 1))}" "$@"
cat "target/bench-$what.md"
