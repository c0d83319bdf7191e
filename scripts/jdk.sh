# shellcheck shell=bash
# Sourced by the other scripts: exports JAVA_HOME pointing at a JDK 21+ (OpenSearch 3.6 needs it).
# Keeps a JAVA_HOME that is already 21+, else searches the usual places, newest first.
_java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -1; }
_ok() { [ -x "$1/bin/javac" ] && [ "$(_java_major "$1" 2>/dev/null || echo 0)" -ge 21 ] 2>/dev/null; }
if [ -z "${JAVA_HOME:-}" ] || ! _ok "$JAVA_HOME"; then
  JAVA_HOME=""
  for d in $(ls -d /usr/lib/jvm/* /opt/java/* /opt/jdk* "$HOME"/.sdkman/candidates/java/* 2>/dev/null | sort -rV); do
    if _ok "$d"; then JAVA_HOME="$d"; break; fi
  done
  if [ -z "$JAVA_HOME" ]; then
    echo "no JDK 21+ found (looked in /usr/lib/jvm, /opt); install one or set JAVA_HOME" >&2
    exit 1
  fi
fi
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"
