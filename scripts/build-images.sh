#!/usr/bin/env bash
# Builds the images the docker backend and its tests use, tagged with the product version so that an image of
# another version is never used by mistake:
#   perstack/sandbox:<version>          what each Expert runs in (git, python3)
#   perstack/sandbox:<version>-minimal  the same without git and python3
#   perstack/perstack:<version>, :latest  the CLI and runtime
# The base is the locally built Debian one (scripts/build-base-image.sh, cached) unless BASE_IMAGE names
# another, e.g. BASE_IMAGE=node:24-bookworm-slim where a registry is reachable. dist/ must be built first
# (npm run build). Unchanged inputs rebuild from Docker's cache in seconds.
#
#   scripts/build-images.sh [sandbox|perstack|all]    (default all)
set -euo pipefail
cd "$(dirname "$0")/.."

what="${1:-all}"
case "$what" in sandbox | perstack | all) ;; *) echo "usage: $0 [sandbox|perstack|all]" >&2; exit 2 ;; esac

log() { echo "build-images: $*" >&2; }
# Debian's 20.10 client has BuildKit built in; a newer client without the buildx plugin refuses DOCKER_BUILDKIT=1.
docker_cli() { if [ -x /usr/bin/docker ]; then /usr/bin/docker "$@"; else docker "$@"; fi; }

version=$(sed -n 's/^export const RUNTIME_VERSION = "\(.*\)"$/\1/p' runtime/version.ts)
[ -n "$version" ] || { log "cannot read RUNTIME_VERSION from runtime/version.ts"; exit 1; }
[ -f dist/runtime/perstack-runtime.js ] && [ -f dist/perstack.js ] && [ -f dist/image/perstack.js ] || { log "dist/ is not built: run npm run build"; exit 1; }

if [ -n "${BASE_IMAGE:-}" ]; then
  base_full="$BASE_IMAGE"
  base_minimal="$BASE_IMAGE"
else
  base_full=$(scripts/build-base-image.sh full)
  base_minimal=$(scripts/build-base-image.sh minimal)
fi

build() {
  local name="$1" started
  shift
  started=$(date +%s%N)
  # Never --pull and never a `# syntax=` line: both go to a registry.
  DOCKER_BUILDKIT=1 docker_cli build --quiet --build-arg "PERSTACK_VERSION=$version" -t "$name" "$@" >/dev/null
  log "built $name in $((($(date +%s%N) - started) / 1000000)) ms"
}

if [ "$what" != perstack ]; then
  build "perstack/sandbox:$version" -f sandbox-image/Dockerfile --target full \
    --build-arg "BASE_IMAGE=$base_full" .
  build "perstack/sandbox:$version-minimal" -f sandbox-image/Dockerfile --target minimal \
    --build-arg "BASE_IMAGE=$base_minimal" .
fi
if [ "$what" != sandbox ]; then
  build "perstack/perstack:$version" -f Dockerfile --build-arg "BASE_IMAGE=$base_minimal" \
    -t perstack/perstack:latest .
fi
