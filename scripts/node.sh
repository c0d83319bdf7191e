#!/usr/bin/env bash
# A real single-node OpenSearch (integ-test distribution + k-NN + our plugin) for development and tests.
#
#   scripts/node.sh install <name> <plugin-zip> [--no-knn] [--cluster <cluster> <seed ports> <managers>] [--setting k=v]...
#                           [--plugin <zip>]...
#                            fresh node home with k-NN (unless --no-knn) and the plugin; single-node unless --cluster
#                            (seed ports: transport ports a,b,..; managers: node names a,b,.. of the first election);
#                            --plugin: more plugin zips, installed in the order given after k-NN and before ours
#   scripts/node.sh start   <name> <http-port> [--foreground|--no-wait]
#   scripts/node.sh stop    <name>
#   scripts/node.sh logs    <name> [lines]               follow the main log, or print its last <lines> lines
#   scripts/node.sh home    <name>                       print the node's home directory
#
# Nodes live in ${EMBEDDER_NODE_ROOT:-/var/tmp/opensearch-embedder}/<name> (outside the repo: CI clones into a
# mode-700 directory). OpenSearch refuses to run as root, so as root the node runs as the system user
# opensearch-embedder, created on first use. Downloaded zips are cached in ${EMBEDDER_CACHE:-~/.cache/opensearch-embedder}.
# EMBEDDER_HEAP sets the heap (default 1g).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
# shellcheck source-path=SCRIPTDIR source=jdk.sh
. "$here/jdk.sh"
export OPENSEARCH_JAVA_HOME=$JAVA_HOME   # the integ-test distribution bundles no JDK

# Versions come from the pom so they follow it.
pom_prop() { sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" "$repo/pom.xml" | head -1; }
os_version=$(pom_prop opensearch.version)
knn_version=$(pom_prop knn.version)
node_root=${EMBEDDER_NODE_ROOT:-/var/tmp/opensearch-embedder}
cache=${EMBEDDER_CACHE:-$HOME/.cache/opensearch-embedder}
run_user=opensearch-embedder

die() { echo "node.sh: $*" >&2; exit 1; }
usage() { sed -n '2,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2; }

[ $# -ge 2 ] || usage
cmd=$1 name=$2
[[ $name =~ ^[A-Za-z0-9_-]+$ ]] || die "bad node name: $name"
home=$node_root/$name
pidfile=$home/opensearch.pid
# <path.logs>/<cluster.name>.log; install records the cluster name
log=$home/logs/$(cat "$home/.cluster-name" 2>/dev/null || echo "embedder-$name").log
console=$home/logs/console.log      # the launcher's own output in background mode

# Runs a command as the node's user: opensearch-embedder when root, else the current user.
as_node_user() {
  if [ "$(id -u)" -ne 0 ]; then "$@"
  elif command -v runuser >/dev/null; then runuser -u "$run_user" -- "$@"
  else su -s /bin/bash "$run_user" -c "$(printf '%q ' "$@")"
  fi
}

# Creates the unprivileged user when root (idempotent) and the node root it can traverse.
ensure_user() {
  mkdir -p "$node_root"
  [ "$(id -u)" -eq 0 ] || return 0
  id -u "$run_user" >/dev/null 2>&1 ||
    useradd --system --user-group --no-create-home --home-dir "$node_root" --shell /usr/sbin/nologin "$run_user"
  chown "$run_user:" "$node_root"
  chmod 755 "$node_root"
  as_node_user test -x "$JAVA_HOME/bin/java" || die "$run_user cannot run $JAVA_HOME/bin/java: use a JDK outside private dirs"
  as_node_user test -w "$node_root" || die "$run_user cannot write $node_root: set EMBEDDER_NODE_ROOT elsewhere"
}

# Copies a Maven artifact (group:artifact:version:zip) into the cache unless there; prints its path.
fetch() {
  local coords=$1 file=$2
  if [ ! -s "$cache/$file" ]; then
    mkdir -p "$cache"
    # Run outside the repo so a half-edited pom.xml cannot break it.
    (cd "$cache" && mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
      -Dartifact="$coords" -DoutputDirectory="$cache" >&2) || die "could not get $coords"
  fi
  echo "$cache/$file"
}

# Prints the pid(s) of this node: the pid file's process, else (the pid file is written seconds after
# `opensearch -d` returns) any JVM started with this home or launcher script still about to exec one. Fails if none.
node_pids() {
  local pid
  if [ -s "$pidfile" ]; then
    pid=$(cat "$pidfile" 2>/dev/null) || pid=none
    if grep -qzxF -e "-Dopensearch.path.home=$home" "/proc/$pid/cmdline" 2>/dev/null; then echo "$pid"; return 0; fi
  fi
  # The patterns come through a file so that grep does not find itself. A process that exits while grep scans
  # /proc makes grep fail (status 2) even when it found the node: only the final grep's result counts (pipefail).
  { grep -lzxF -f <(printf '%s\n' "-Dopensearch.path.home=$home" "$home/bin/opensearch") /proc/[0-9]*/cmdline 2>/dev/null || true; } |
    sed 's:^/proc/\([0-9]*\)/cmdline$:\1:' | grep .
}

health() { # http status of the yellow-health wait, 000 if nothing answers
  curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    "http://127.0.0.1:$1/_cluster/health?wait_for_status=yellow&timeout=5s" || true
}

log_tail() {
  echo "---- last ${1:-80} lines of $log ----" >&2
  tail -n "${1:-80}" "$log" >&2 2>/dev/null || echo "(no log yet)" >&2
}

write_heap() {
  local heap=${EMBEDDER_HEAP:-1g}
  printf -- '-Xms%s\n-Xmx%s\n' "$heap" "$heap" >"$home/config/jvm.options.d/heap.options"
}

do_install() {
  local zip=${1:-} with_knn=1 cluster="" seeds="" managers="" extra="" p
  local -a plugins=()
  shift || true
  while [ $# -gt 0 ]; do
    case "$1" in
      --no-knn) with_knn=0; shift ;;
      --cluster) [ $# -ge 4 ] || usage; cluster=$2 seeds=$3 managers=$4; shift 4 ;;
      --setting) [ $# -ge 2 ] && [[ $2 == *=* ]] || usage; extra+="${2%%=*}: ${2#*=}"$'\n'; shift 2 ;;
      --plugin) [ $# -ge 2 ] && [ -f "$2" ] || die "plugin zip not found: ${2:-<none given>}"
        plugins+=("$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"); shift 2 ;;
      *) usage ;;
    esac
  done
  [ -f "$zip" ] || die "plugin zip not found: ${zip:-<none given>}"
  zip=$(cd "$(dirname "$zip")" && pwd)/$(basename "$zip")
  local dist knn
  dist=$(fetch "org.opensearch.distribution.integ-test-zip:opensearch:$os_version:zip" "opensearch-$os_version.zip")
  knn=$(fetch "org.opensearch.plugin:opensearch-knn:$knn_version:zip" "opensearch-knn-$knn_version.zip")
  ensure_user
  do_stop
  rm -rf "$home"
  # Unpack the distribution (a single opensearch-<version>/ folder) as the node home.
  local tmp
  tmp=$(mktemp -d "$node_root/.unpack.XXXXXX")
  if command -v unzip >/dev/null; then
    unzip -q "$dist" -d "$tmp"
  else # the JDK's jar tool drops the exec bits
    (cd "$tmp" && "$JAVA_HOME/bin/jar" xf "$dist") && chmod +x "$tmp"/opensearch-*/bin/*
  fi
  mv "$tmp"/opensearch-* "$home"
  rmdir "$tmp"
  mkdir -p "$home/data" "$home/logs" "$home/tmp" "$home/config/jvm.options.d"
  # k-NN first: our plugin may extend it. Without it, the plugin must still start (text_knn then says why it can't run).
  if [ "$with_knn" -eq 1 ]; then
    "$home/bin/opensearch-plugin" install --batch "file://$knn"
  fi
  for p in ${plugins[@]+"${plugins[@]}"}; do
    "$home/bin/opensearch-plugin" install --batch "file://$p"
  done
  "$home/bin/opensearch-plugin" install --batch "file://$zip"
  cat >>"$home/config/opensearch.yml" <<EOF

# ---- written by scripts/node.sh (http.port and transport.port are given at start) ----
node.name: $name
network.host: 127.0.0.1
$(if [ -z "$cluster" ]; then
    printf 'cluster.name: embedder-%s\ndiscovery.type: single-node\n' "$name"
  else
    printf 'cluster.name: %s\ndiscovery.seed_hosts: [%s]\ncluster.initial_cluster_manager_nodes: [%s]\n' \
      "$cluster" "$(echo "$seeds" | sed 's/\([0-9]\+\)/"127.0.0.1:\1"/g')" "$managers"
  fi)
path.data: $home/data
path.logs: $home/logs
# a dev/test node: never refuse shards because the disk is fuller than a production watermark
cluster.routing.allocation.disk.threshold_enabled: false
$extra
EOF
  echo "${cluster:-embedder-$name}" >"$home/.cluster-name"
  write_heap
  if [ "$(id -u)" -eq 0 ]; then
    chown -R "$run_user:" "$home"
    # Tests running as root drop model directories into config/embedder/models, copying the plugin's 660 files:
    # setgid directories give what they create the node's group, so the node can read it.
    find "$home/config" -type d -exec chmod g+s {} +
  fi
  echo "installed node $name in $home (OpenSearch $os_version, $([ "$with_knn" -eq 1 ] && echo "k-NN $knn_version" || echo "no k-NN"), $(basename "$zip"))"
}

do_start() {
  local port=${1:-} fg=${2:-}
  [[ $port =~ ^[0-9]+$ ]] || die "start needs an http port"
  [ -z "$fg" ] || [ "$fg" = --foreground ] || [ "$fg" = --no-wait ] || usage
  [ -x "$home/bin/opensearch" ] || die "node $name is not installed: scripts/node.sh install $name <plugin-zip>"
  ensure_user
  write_heap
  [ "$(id -u)" -ne 0 ] || chown "$run_user:" "$home/config/jvm.options.d/heap.options"
  local url=http://127.0.0.1:$port
  local -a node=(env "OPENSEARCH_JAVA_HOME=$JAVA_HOME" "OPENSEARCH_TMPDIR=$home/tmp"
    "$home/bin/opensearch" -p "$pidfile" -Ehttp.port="$port" -Etransport.port="$((port + 100))")
  if node_pids >/dev/null; then
    echo "node $name is already running"
  elif [ "$(health "$port")" != 000 ]; then
    die "something else already answers on port $port"
  elif [ "$fg" = --foreground ]; then
    # Say so once it is up, from the background, then become the node (Ctrl-C stops it).
    ( for _ in $(seq 120); do
        [ "$(health "$port")" = 200 ] && { echo ">>> node $name is up at $url"; exit 0; }
        sleep 2
      done ) &
    cd "$home"
    if [ "$(id -u)" -eq 0 ]; then exec runuser -u "$run_user" -- "${node[@]}"; else exec "${node[@]}"; fi
  else
    # Detach the daemon from our stdout/stderr (a pipe left open would hang whoever reads it).
    (cd "$home" && as_node_user "${node[@]}" -d </dev/null >"$console" 2>&1) ||
      { cat "$console" >&2; log_tail 80; die "node $name failed to start"; }
    # a cluster member cannot be healthy alone: the caller waits once all members run
    if [ "$fg" = --no-wait ]; then echo "node $name started on $url"; return 0; fi
  fi
  local deadline=$((SECONDS + 240)) gone=0
  until [ "$(health "$port")" = 200 ]; do
    # Between the launcher's JVM-options step and the server JVM there is a moment with no process of the node: only
    # a node missing at three checks in a row has died (one miss used to stop a node that was still coming up).
    if node_pids >/dev/null; then gone=0; else gone=$((gone + 1)); fi
    if [ "$gone" -ge 3 ] || [ $SECONDS -ge $deadline ]; then
      log_tail 80
      do_stop >/dev/null
      die "node $name did not become healthy on $url"
    fi
    sleep 2
  done
  echo "node $name is up at $url"
}

do_stop() {
  local pids
  pids=$(node_pids) || { rm -f "$pidfile"; return 0; }
  # shellcheck disable=SC2086 # one or more pids
  kill -TERM $pids 2>/dev/null || true
  for _ in $(seq 60); do
    node_pids >/dev/null || break
    sleep 1
  done
  if pids=$(node_pids); then
    echo "node $name did not stop in 60 s: killing it" >&2
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 1
  fi
  rm -f "$pidfile"
  echo "stopped node $name"
}

case $cmd in
  install) shift 2; do_install "$@" ;;
  start) do_start "${3:-}" "${4:-}" ;;
  stop) do_stop ;;
  home) echo "$home" ;;
  logs) if [ -n "${3:-}" ]; then tail -n "$3" "$log"; else tail -n 100 -F "$log"; fi ;;
  *) usage ;;
esac
