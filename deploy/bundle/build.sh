#!/usr/bin/env bash
# Builds the GPU host bundle (deploy/bundle/out/kfarm-bundle.tar.xz): a jlink'ed Java runtime, the jars that
# `kfarm verify`, `kfarm bench`, `kfarm campaign` (a local node on an H2 file) and a worker node
# (`kfarm node --roles worker --join HOST:PORT`) need, and the launcher. GPU hosts have Python, torch and nvcc but no
# Java; the bundle is what travels there. Pekko HTTP travels (kfarm campaign serves the API and the live dashboard,
# a worker node its /metrics); PostgreSQL, management and Kubernetes discovery stay behind: those commands never
# load them.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/deploy/bundle/out
rm -rf "$out"
mkdir -p "$out/kfarm/lib" "$out/kfarm/bin"
(cd "$root" && mvn -q -B -DskipTests install)
lib=$root/coordinator/target/lib
for jar in "$lib"/*.jar "$root"/coordinator/target/kernelfarm-coordinator-*.jar; do
  case $(basename "$jar") in
    postgresql-*|pekko-http-spray-json*|pekko-management*|pekko-discovery-kubernetes*|jnr-*|jffi-*|\
    lmdbjava*|asm*|jcuda-natives*|\
    checker-qual*|spray-json*|reactive-streams-jvm*) continue ;;
  esac
  cp "$jar" "$out/kfarm/lib/"
done
# JCuda's natives jar carries every CUDA library binding (24 MB of nvPTX compiler alone); we use the driver API.
natives=$(ls "$lib"/jcuda-natives-*.jar)
work=$(mktemp -d)
(cd "$work" && unzip -q "$natives" 'lib/libJCudaDriver-*' 'META-INF/*' && \
  zip -q -r "$out/kfarm/lib/$(basename "$natives")" lib META-INF)
rm -rf "$work"
# What Pekko, Jackson, Kryo, logback, the JDBC journal and the LLM client (java.net.http; jdk.httpserver for the
# replay endpoint) and cluster remoting (Artery loads jdk.jfr events) use at run time (jdeps also names java.desktop, for an optional
# java.beans path of Jackson's, which costs 12 MB). Left uncompressed here: xz does far better on the whole tar.
jlink --add-modules java.base,java.logging,java.management,java.naming,java.net.http,java.sql,java.xml,jdk.httpserver,jdk.jfr,jdk.unsupported \
  --strip-debug --no-header-files --no-man-pages --compress=0 --output "$out/kfarm/jre"
# Jars stored, not deflated, for the same reason.
for jar in "$out"/kfarm/lib/*.jar; do
  work=$(mktemp -d)
  (cd "$work" && unzip -q "$jar" && rm "$jar" && zip -q -0 -r -X "$jar" .)
  rm -rf "$work"
done
# bubblewrap for the candidate sandbox: GPU hosts often lack it. Debian's binary travels with its own loader and
# libraries (glibc included), started through that loader, so it runs on any x86-64 Linux and sets no
# LD_LIBRARY_PATH that would reach the sandboxed processes. The worker finds it as jre/bin/bwrap.
if command -v bwrap >/dev/null 2>&1; then
  mkdir -p "$out/kfarm/jre/lib/bwrap"
  cp "$(command -v bwrap)" "$out/kfarm/jre/lib/bwrap/bwrap"
  for so in $(ldd "$(command -v bwrap)" | awk '/=>/ {print $3} /ld-linux/ {print $1}'); do
    cp -L "$so" "$out/kfarm/jre/lib/bwrap/"
  done
  cat > "$out/kfarm/jre/bin/bwrap" <<'BWRAP'
#!/bin/sh
lib=$(cd "$(dirname "$0")/../lib/bwrap" && pwd)
exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$lib/bwrap" "$@"
BWRAP
  chmod +x "$out/kfarm/jre/bin/bwrap"
else
  echo "build.sh: bwrap not found (apt-get install bubblewrap): the bundle's workers fall back to util-linux" >&2
fi
cat > "$out/kfarm/bin/kfarm" <<'LAUNCHER'
#!/usr/bin/env bash
here=$(cd "$(dirname "$0")/.." && pwd)
exec "$here/jre/bin/java" ${KFARM_JAVA_OPTS:-} -cp "$here/lib/*" kernelfarm.coordinator.Main "$@"
LAUNCHER
chmod +x "$out/kfarm/bin/kfarm"
tar -C "$out" -cf - kfarm | xz -9 -T0 > "$out/kfarm-bundle.tar.xz"
rm -rf "$out/kfarm"
ls -la "$out"
