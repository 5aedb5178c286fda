#!/usr/bin/env bash
# Makes sure a Docker engine answers: leaves a running daemon alone; otherwise installs Debian's engine
# (when dockerd is missing), starts it in a session of its own and waits until its API answers.
# Never restarts or stops a daemon it did not start, never starts a second one.
set -euo pipefail

log() { echo "docker-engine: $*" >&2; }

# Debian's client speaks to Debian's engine and has BuildKit built in; another client on PATH may lack buildx.
docker_cli() {
  if [ -x /usr/bin/docker ]; then /usr/bin/docker "$@"; else docker "$@"; fi
}

answers() { docker_cli version --format '{{.Server.Version}}' >/dev/null 2>&1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else
    log "needs root to $*; run it as root, or install and start Docker yourself"
    exit 1
  fi
}

if answers; then
  log "a Docker engine already answers ($(docker_cli version --format '{{.Server.Version}}')); leaving it alone"
  exit 0
fi

if [ -n "${DOCKER_HOST:-}" ]; then
  log "DOCKER_HOST=$DOCKER_HOST does not answer; not starting a local engine in its place"
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1 || [ ! -x /usr/bin/docker ]; then
  log "installing Debian's Docker engine (docker.io)"
  started=$(date +%s)
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends docker.io iptables ca-certificates >/dev/null
  log "installed in $(($(date +%s) - started)) s"
fi

socket=/var/run/docker.sock
pidfile=/var/run/docker.pid
if [ -f "$pidfile" ]; then
  pid=$(cat "$pidfile" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    # A daemon is running but does not answer yet (it may be starting): wait for it, never start another.
    log "dockerd (pid $pid) is running; waiting for its API"
  else
    log "removing a stale $pidfile (pid ${pid:-?} is gone)"
    as_root rm -f "$pidfile"
  fi
fi

if [ ! -f "$pidfile" ]; then
  logfile="${PERSTACK_DOCKERD_LOG:-/var/log/perstack-dockerd.log}"
  log "starting dockerd (log: $logfile)"
  # Its own session: it outlives this script and the shell that ran it, and no Ctrl-C of ours reaches it.
  as_root setsid nohup dockerd >"$logfile" 2>&1 </dev/null &
fi

# The socket file appears before the API listens: poll the API itself.
for _ in $(seq 1 600); do
  if answers; then
    log "Docker $(docker_cli version --format '{{.Server.Version}}') answers on $socket"
    exit 0
  fi
  sleep 0.1
done
log "dockerd did not answer within 60 s; see ${PERSTACK_DOCKERD_LOG:-/var/log/perstack-dockerd.log}"
exit 1
