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

# Copies a Maven artifact (group:artifact:version[:type[:classifier]]) into ${EMBEDDER_CACHE:-~/.cache/opensearch-embedder}
# unless there, as <file>; prints its path.
cached_artifact() {
  local coords=$1 file=$2 cache=${EMBEDDER_CACHE:-$HOME/.cache/opensearch-embedder}
  if [ ! -s "$cache/$file" ]; then
    mkdir -p "$cache"
    # outside the repo, so a half-edited pom.xml cannot break it
    (cd "$cache" && mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
      -Dartifact="$coords" -DoutputDirectory="$cache" >&2) || { echo "could not get $coords" >&2; return 1; }
  fi
  echo "$cache/$file"
}
