#!/usr/bin/env bash
# Builds the sandbox images' base without any container registry: Debian bookworm from Debian's own archive
# (debootstrap), Node and npm from the npm registry, a `node` user (uid 1000): the same shape as the public
# node:24-bookworm-slim, plus the packages sandbox-image/Dockerfile would otherwise fetch with apt.
# Two variants from one debootstrap: `full` (git, python3) and `minimal` (without them).
#
# Cached twice, keyed by the package set, the Node and npm versions and BASE_REVISION: in the Docker engine
# (perstack/base:<variant>-<key>) and as `docker save | gzip` in ~/.cache/perstack/images/, which is loaded
# back when the engine lacks it. Prints the image name of the wanted variant on stdout.
#
#   scripts/build-base-image.sh [full|minimal]    (default full; builds and caches both)
set -euo pipefail

variant="${1:-full}"
case "$variant" in full | minimal) ;; *) echo "usage: $0 [full|minimal]" >&2; exit 2 ;; esac

# Bump when the way the rootfs is made changes: the cache key changes with it.
BASE_REVISION=3
SUITE=bookworm
MIRROR="${PERSTACK_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
MINIMAL_PACKAGES="ca-certificates,procps"
FULL_ONLY_PACKAGES="git,python3"
NODE_VERSION="${PERSTACK_NODE_VERSION:-24.21.0}"
NPM_VERSION="${PERSTACK_NPM_VERSION:-11.21.2}"

log() { echo "build-base-image: $*" >&2; }
docker_cli() { if [ -x /usr/bin/docker ]; then /usr/bin/docker "$@"; else docker "$@"; fi; }

case "$(uname -m)" in
  x86_64) node_arch=x64 ;;
  aarch64 | arm64) node_arch=arm64 ;;
  *) log "unsupported CPU $(uname -m)"; exit 1 ;;
esac

key=$(printf '%s\n' "$BASE_REVISION" "$SUITE" "$MINIMAL_PACKAGES" "$FULL_ONLY_PACKAGES" "$NODE_VERSION" \
  "$NPM_VERSION" "$node_arch" | sha256sum | cut -c1-12)
image() { echo "perstack/base:$1-$key"; }
cache_dir="${PERSTACK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/perstack}/images"
archive() { echo "$cache_dir/base-$1-$key.tar.gz"; }

has_image() { docker_cli image inspect "$1" >/dev/null 2>&1; }

if has_image "$(image "$variant")"; then
  image "$variant"
  exit 0
fi
if [ -s "$(archive "$variant")" ]; then
  started=$(date +%s)
  gunzip -c "$(archive "$variant")" | docker_cli load >/dev/null
  log "loaded $(image "$variant") from $(archive "$variant") in $(($(date +%s) - started)) s"
  image "$variant"
  exit 0
fi

# --- Not cached: build both variants (one debootstrap), then cache them.
if [ "$(id -u)" != 0 ]; then
  log "debootstrap needs root: run this script as root once (the result is cached), or build"
  log "sandbox-image/Dockerfile from the public base: docker build --build-arg BASE_IMAGE=node:24-bookworm-slim ..."
  exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
fi

started=$(date +%s)
work=$(mktemp -d /var/tmp/perstack-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

# Node from the npm registry's node-linux-<arch> package (what scripts/node-env.sh uses), npm from npm's own package.
node_cache="${PERSTACK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/perstack}/node-$NODE_VERSION-$node_arch"
node_bin="$node_cache/node_modules/node-linux-$node_arch/bin/node"
if [ ! -x "$node_bin" ]; then
  log "fetching node-linux-$node_arch@$NODE_VERSION"
  rm -rf "$node_cache.tmp" && mkdir -p "$node_cache.tmp"
  npm install --prefix "$node_cache.tmp" --no-save --no-package-lock --ignore-scripts --loglevel=error \
    "node-linux-$node_arch@$NODE_VERSION" >&2
  rm -rf "$node_cache" && mv "$node_cache.tmp" "$node_cache"
fi
(cd "$work" && npm pack --silent --loglevel=error "npm@$NPM_VERSION" >/dev/null)

log "debootstrap $SUITE (minbase + $MINIMAL_PACKAGES,$FULL_ONLY_PACKAGES) from $MIRROR; takes 2-3 minutes"
debootstrap --variant=minbase --include="$MINIMAL_PACKAGES,$FULL_ONLY_PACKAGES" "$SUITE" "$rootfs" "$MIRROR" \
  >"$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log" >&2; exit 1; }

# Like Debian's slim images: no docs, man pages or locales now, nor from any package installed later.
mkdir -p "$rootfs/etc/dpkg/dpkg.cfg.d"
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
echo 'APT::Install-Recommends "false";' >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends"
echo "deb $MIRROR $SUITE main" >"$rootfs/etc/apt/sources.list"

install -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
# Debug symbols are a fifth of the binary; stack traces keep their function names without them.
if command -v strip >/dev/null 2>&1; then strip "$rootfs/usr/local/bin/node"; fi
mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work"/npm-*.tgz -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

slim() {
  local root="$1"
  rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/lintian \
    "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old "$root"/var/log/* \
    "$root"/usr/local/lib/node_modules/npm/docs "$root"/usr/local/lib/node_modules/npm/man
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  find "$root" -xdev -name __pycache__ -type d -prune -exec rm -rf {} +
}

# The minimal variant: everything that is neither required by Debian nor one of MINIMAL_PACKAGES (or needed by
# them) goes. debootstrap marks every package as manually installed, so mark them automatic first.
cp -a "$rootfs" "$work/rootfs-minimal"
chroot "$work/rootfs-minimal" sh -c "dpkg-query -W -f '\${Package} \${Priority}\n' | awk '\$2 != \"required\" {print \$1}' |
  xargs apt-mark auto >/dev/null && apt-mark manual ${MINIMAL_PACKAGES//,/ } >/dev/null &&
  DEBIAN_FRONTEND=noninteractive apt-get autoremove --purge -y -qq \
  -o APT::AutoRemove::RecommendsImportant=false -o APT::AutoRemove::SuggestsImportant=false" \
  >"$work/minimal.log" 2>&1 || { tail -30 "$work/minimal.log" >&2; exit 1; }
slim "$rootfs"
slim "$work/rootfs-minimal"

mkdir -p "$cache_dir"
for v in full minimal; do
  root="$rootfs"
  [ "$v" = minimal ] && root="$work/rootfs-minimal"
  tar -C "$root" --numeric-owner -c . | docker_cli import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_VERSION='"$NODE_VERSION" \
    --change 'CMD ["node"]' \
    --message "perstack base ($v): Debian $SUITE minbase, Node $NODE_VERSION, npm $NPM_VERSION" \
    - "$(image "$v")" >/dev/null
  docker_cli save "$(image "$v")" | gzip -1 >"$(archive "$v").tmp"
  mv "$(archive "$v").tmp" "$(archive "$v")"
  log "built $(image "$v") ($(du -h "$(archive "$v")" | cut -f1) cached in $(archive "$v"))"
done
log "built both variants in $(($(date +%s) - started)) s"
image "$variant"
