#!/usr/bin/env bash
# Builds the single-node test cluster's binaries (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubelet v1.20.2) from Debian bookworm's `kubernetes` source package with Debian's Go 1.19, as
# ../shared/notes/kubernetes.md describes, plus the kubelet patch beside this script. No registry but Debian's.
# The result is cached outside the repo, keyed by the package version and the patch, so only the first run on a
# machine pays the ~24 min build: $PERSTACK_CACHE/k8s/<key>/{bin,pause.c,kubectl}. Prints that directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
VERSION=1.20.5+really1.20.2
cache=${PERSTACK_CACHE:-$HOME/.cache/perstack}
key="$VERSION-$(sha256sum "$here/kubelet-no-negative-oom.patch" | cut -c1-12)"
out="$cache/k8s/$key"
if [ -x "$out/bin/kubelet" ] && [ -x "$out/bin/kube-apiserver" ] && [ -x "$out/kubectl" ] && [ -f "$out/pause.c" ]; then
  echo "$out"
  exit 0
fi
log() { echo "[k8s-build] $*" >&2; }

# Debian packages: the compiler, etcd, and the source package's tools (as root, the way CI runs).
need=()
[ -x /usr/lib/go-1.19/bin/go ] || need+=(golang-1.19-go)
command -v etcd >/dev/null || need+=(etcd-server)
command -v rsync >/dev/null || need+=(rsync)
command -v openssl >/dev/null || need+=(openssl)
command -v gcc >/dev/null || need+=(gcc libc6-dev)
command -v patch >/dev/null || need+=(patch)
command -v make >/dev/null || need+=(make)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

work=$(mktemp -d "$cache/k8s-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
# The source package from the mirror the machine already uses (a deb-src entry only for this download).
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || echo http://deb.debian.org/debian)
mkdir -p apt/lists/partial apt/archives/partial
cat > apt/sources.list <<SRC
deb-src $mirror bookworm main
deb $mirror bookworm main
SRC
aptopts=(-o Dir::Etc::SourceList="$work/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o Dir::State::Lists="$work/apt/lists" -o Dir::Cache::Archives="$work/apt/archives")
log "fetching the kubernetes source package $VERSION"
apt-get "${aptopts[@]}" update -qq >&2
apt-get "${aptopts[@]}" source --download-only "kubernetes=$VERSION-1.1+deb12u1" >&2 ||
  apt-get "${aptopts[@]}" source --download-only kubernetes >&2
# kubectl 1.20 from Debian's kubernetes-client, unpacked here (not installed: it would clash with other kubectls)
apt-get "${aptopts[@]}" download kubernetes-client >&2
dpkg-deb -x kubernetes-client_*.deb client
tar xzf "kubernetes_$VERSION.orig.tar.gz"
cd kubernetes-1.20.2
patch -p1 <"$here/kubelet-no-negative-oom.patch" >&2
export PATH=/usr/lib/go-1.19/bin:$PATH GOPROXY=off GOFLAGS= GOCACHE=$work/gocache HOME=$work/home
mkdir -p "$HOME"
log "building (about 24 min on 2 cores)"
start=$(date +%s)
# The upstream make wrapper (a plain `go build -mod=vendor` fails with "updates to go.mod needed").
make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubelet" \
  KUBE_BUILD_PLATFORMS=linux/amd64 >&2
log "built in $(($(date +%s) - start)) s"
stage="$out.partial"
rm -rf "$stage" && mkdir -p "$stage/bin"
for b in kube-apiserver kube-controller-manager kube-scheduler kubelet; do cp "_output/bin/$b" "$stage/bin/"; done
cp build/pause/linux/pause.c "$stage/pause.c"
cp "$work/client/usr/bin/kubectl" "$stage/kubectl"
rm -rf "$out" && mv "$stage" "$out"
echo "$out"
