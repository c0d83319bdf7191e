#!/usr/bin/env bash
# Builds the plugin (default model: bge-small-en-v1.5), installs it into a fresh node "dev" and runs that node in
# the foreground on port ${EMBEDDER_PORT:-9200}. Ctrl-C stops it. See scripts/node.sh for the knobs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source-path=SCRIPTDIR source=common.sh
. scripts/common.sh
port=${EMBEDDER_PORT:-9200}

mvn -B -q package -DskipTests
zip=$(newest_zip)

scripts/node.sh install dev "$zip"
cat <<MSG

Starting node dev on http://127.0.0.1:$port (Ctrl-C stops it). Once it is up, try:
  curl -s localhost:$port/_cat/plugins
  curl -s localhost:$port/_plugins/_embedder/models
  curl -s -XPOST localhost:$port/_plugins/_embedder/models/bge-small-en-v1.5/_embed -H 'Content-Type: application/json' -d '{"texts":["hello world"]}'

MSG
exec scripts/node.sh start dev "$port" --foreground
