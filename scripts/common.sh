# shellcheck shell=bash
# Sourced by run-node.sh, test.sh and bench.sh: a JDK 21+ (jdk.sh) and the newest plugin zip of the build.
# shellcheck source-path=SCRIPTDIR source=jdk.sh
. "$(dirname "${BASH_SOURCE[0]}")/jdk.sh"

# Prints the newest target/releases/embedder-*.zip (the version is the pom's business); fails when there is none.
newest_zip() {
  local zip="" f
  for f in target/releases/embedder-*.zip; do
    if [ -z "$zip" ] || [ "$f" -nt "$zip" ]; then zip=$f; fi
  done
  [ -f "$zip" ] || { echo "the build made no target/releases/embedder-*.zip" >&2; return 1; }
  echo "$zip"
}
