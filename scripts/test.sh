#!/usr/bin/env bash
# The test command: unit tests and the all-models plugin zip, then the integration tests (*IT.java) against a
# real node "test" on port ${EMBEDDER_TEST_PORT:-9201}. Extra arguments go to the integration-test Maven call,
# e.g. scripts/test.sh -Dit.test=EmbedApiIT. The node is always stopped at the end; exit code = test result.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source-path=SCRIPTDIR source=common.sh
. scripts/common.sh
port=${EMBEDDER_TEST_PORT:-9201}
failed_step=""
trap 'failed_step="line $LINENO: $BASH_COMMAND"' ERR

# (a) unit tests + plugin zip with all three models
mvn -B verify -Pall-models
# (a') the same unit tests built against a newer OpenSearch, in a build directory of their own (the zip used below
#      stays the ${opensearch.version} one of target/releases)
compat=${EMBEDDER_COMPAT_VERSION:-3.8.0}
mvn -B test -Pall-models -Dopensearch.version="$compat" -Dbuild.dir="$PWD/target/opensearch-$compat"
# (a'') the tests that need the int8 variant of the default model (the first-token graph of a dynamically quantized graph,
#      and the unpadding rewrite refusing one), in a build directory of their own so that the zip below bundles fp32 only
mvn -B test -Pall-models,quantized -Dtest=FirstTokenGraphTest,UnpaddedGraphTest -Dbuild.dir="$PWD/target/quantized"
zip=$(newest_zip)

# (b) a fresh node with that zip, and one without the k-NN plugin (the plugin must start there too);
#     from here on, always stop them (and show the test node's log if something failed)
# (it preloads the default model at start: PreloadIT)
scripts/node.sh install test "$zip" --setting embedder.preload_models=bge-small-en-v1.5
# (its inference pool is one thread with a queue of 2, so the overload test saturates it quickly)
scripts/node.sh install test-noknn "$zip" --no-knn --setting thread_pool.embedder.size=1 --setting thread_pool.embedder.queue_size=2
noknn_port=$((port + 1))
# and one with neural-search beside k-NN, for text_knn inside its hybrid query (HybridIT)
knn_version=$(sed -n 's:.*<knn.version>\(.*\)</knn.version>.*:\1:p' pom.xml | head -1)
scripts/node.sh install test-hybrid "$zip" \
  --plugin "$(cached_artifact "org.opensearch.plugin:neural-search:$knn_version:zip" "neural-search-$knn_version.zip")"
hybrid_port=$((port + 5))   # (port + 2 and + 3 are the bench node's and its model server's)
# and a three-node cluster (all cluster-manager-eligible), for what crosses nodes and for a node restart
multi_ports=("$((port + 10))" "$((port + 11))" "$((port + 12))")
for i in 1 2 3; do
  scripts/node.sh install "test-multi$i" "$zip" --cluster embedder-test-multi \
    "$((multi_ports[0] + 100)),$((multi_ports[1] + 100)),$((multi_ports[2] + 100))" test-multi1,test-multi2,test-multi3
done
node_up=0
finish() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ "$node_up" -eq 1 ]; then
    echo "---- test.sh failed ($rc): last 60 lines of the test node's log ----" >&2
    scripts/node.sh logs test 60 >&2 || true
  fi
  scripts/node.sh stop test || true
  for n in test-noknn test-hybrid test-multi1 test-multi2 test-multi3; do scripts/node.sh stop "$n" || true; done
  # the reason goes last, so that the tail of the output shows it
  if [ "$rc" -ne 0 ]; then
    echo "test.sh: FAILED with exit code $rc${failed_step:+ at $failed_step}" >&2
  fi
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM
# 2g: the README, ingest and late-interaction tests push token vectors (boxed floats in ingest documents) through
# this one node; with 1g its real-memory circuit breaker tripped (429) when the machine was loaded and GC lagged
EMBEDDER_HEAP=${EMBEDDER_HEAP:-2g} scripts/node.sh start test "$port"   # prints the log tail itself if the node does not come up
node_up=1
scripts/node.sh start test-noknn "$noknn_port"
scripts/node.sh start test-hybrid "$hybrid_port"
scripts/node.sh start test-multi1 "${multi_ports[0]}" --no-wait
scripts/node.sh start test-multi2 "${multi_ports[1]}" --no-wait
scripts/node.sh start test-multi3 "${multi_ports[2]}" --no-wait
for _ in $(seq 120); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    "http://127.0.0.1:${multi_ports[0]}/_cluster/health?wait_for_nodes=3&wait_for_status=green&timeout=5s" || true)
  [ "$code" = 200 ] && break
  sleep 2
done
[ "$code" = 200 ] || { scripts/node.sh logs test-multi1 60 >&2; failed_step="the three-node cluster did not form"; exit 1; }

# (c) integration tests against it (none yet is fine); some drop model directories into the node's models dir
mvn -B -Pall-models failsafe:integration-test failsafe:verify -DskipITs=false -Dtests.cluster="127.0.0.1:$port" \
  -Dtests.cluster.noknn="127.0.0.1:$noknn_port" -Dtests.cluster.hybrid="127.0.0.1:$hybrid_port" \
  -Dtests.cluster.multi="127.0.0.1:${multi_ports[0]},127.0.0.1:${multi_ports[1]},127.0.0.1:${multi_ports[2]}" \
  -Dtests.multi.restart="test-multi3:${multi_ports[2]}" \
  -Dtests.multi.models="$(scripts/node.sh home test-multi1)/config/embedder/models" \
  -Dtests.node.models="$(scripts/node.sh home test)/config/embedder/models" "$@"
