#!/usr/bin/env bash
# Puts a Node >= 22.22 first on PATH: the machine's own when new enough, else Node 24 from the
# npm registry's node-linux-<arch> package, installed once into a version-keyed cache outside the
# repo and linked into the ignored .tools/ folder. Source it, or run `scripts/node-env.sh CMD...`.
set -euo pipefail

PERSTACK_NODE_VERSION="${PERSTACK_NODE_VERSION:-24.21.0}"
_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

_node_ok() {
  # true when the given node binary is >= 22.22
  "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=22)?0:1)' 2>/dev/null
}

_ensure_node() {
  if [ -z "${PERSTACK_FORCE_BUNDLED_NODE:-}" ] && command -v node >/dev/null 2>&1 && _node_ok "$(command -v node)"; then
    return 0
  fi
  local arch
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "node-env: unsupported CPU $(uname -m); install Node >= 22.22 yourself" >&2; return 1 ;;
  esac
  local cache="${PERSTACK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/perstack}/node-$PERSTACK_NODE_VERSION-$arch"
  local bin="$cache/node_modules/node-linux-$arch/bin"
  if ! _node_ok "$bin/node"; then
    echo "node-env: installing Node $PERSTACK_NODE_VERSION (npm package node-linux-$arch) into $cache" >&2
    rm -rf "$cache.tmp" && mkdir -p "$cache.tmp"
    npm install --prefix "$cache.tmp" --no-save --no-package-lock --ignore-scripts --loglevel=error \
      "node-linux-$arch@$PERSTACK_NODE_VERSION" >&2
    rm -rf "$cache" && mv "$cache.tmp" "$cache"
    _node_ok "$bin/node" || { echo "node-env: the installed Node does not run" >&2; return 1; }
  fi
  mkdir -p "$_repo/.tools"
  ln -sfn "$bin" "$_repo/.tools/node-bin"
  export PATH="$_repo/.tools/node-bin:$PATH"
}

_ensure_node
# npm itself comes with the machine; Node's own npm is not shipped in the registry package.
unset -f _node_ok _ensure_node

if [ "${BASH_SOURCE[0]}" = "$0" ] && [ "$#" -gt 0 ]; then
  exec "$@"
fi
