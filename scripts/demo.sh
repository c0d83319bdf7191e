#!/usr/bin/env bash
# One command: the CISI collection (../shared/data/cisi) through the embed pipeline into a local node, then a few of
# its queries with BM25, text_knn (and late interaction, when the index has such a field) top hits side by side.
#   scripts/demo.sh [--reindex]
# Uses the node ${EMBEDDER_DEMO_NODE:-demo} on port ${EMBEDDER_PORT:-9200} if it answers with this plugin; else builds
# the plugin, installs that node (unless installed with the same zip already) and starts it. The node keeps running.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source-path=SCRIPTDIR source=common.sh
. scripts/common.sh
port=${EMBEDDER_PORT:-9200}
node=${EMBEDDER_DEMO_NODE:-demo}
data=${EMBEDDER_DATA:-$PWD/../shared/data}
[ -f "$data/cisi/CISI.ALL" ] || { echo "demo.sh: no CISI collection at $data/cisi (set EMBEDDER_DATA)" >&2; exit 1; }

if curl -s --max-time 5 "http://127.0.0.1:$port/_cat/plugins?h=component" | grep -qx embedder; then
  echo "using the node on port $port"
  mvn -B -q -Dstyle.color=never test-compile
else
  mvn -B -q -Dstyle.color=never package -DskipTests
  zip=$(newest_zip)
  home=$(scripts/node.sh home "$node")
  # a node installed from this very zip keeps its index; any other is installed afresh
  if ! cmp -s "$zip" "$home/.demo-plugin.zip" 2>/dev/null; then
    scripts/node.sh install "$node" "$zip"
    cp "$zip" "$home/.demo-plugin.zip"
  fi
  scripts/node.sh start "$node" "$port"
fi
mvn -B -q -Dstyle.color=never dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/demo.classpath >/dev/null
exec "$JAVA_HOME/bin/java" -Dtests.cluster="127.0.0.1:$port" -Dtests.data="$data" \
  -cp "target/test-classes:target/classes:$(cat target/demo.classpath)" io.embedder.it.CisiDemo "$@"
