#!/usr/bin/env bash
# Starts the single-node test cluster (../shared/notes/kubernetes.md): etcd, kube-apiserver, the controllers a Job
# runner needs, kube-scheduler and a kubelet running pods as containers of the local Docker engine. Binaries from
# build.sh (cached). Idempotent: a running cluster is left as it is. Needs root (the kubelet's private mount
# namespace). Prints the environment to use it, also written to $PERSTACK_K8S_STATE/env.
# Stop it, and leave the host as found, with down.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
log() { echo "[k8s-up] $*" >&2; }
[ "$(id -u)" = 0 ] || { echo "scripts/k8s/up.sh needs root (the kubelet runs in a private mount namespace)" >&2; exit 1; }
[ -n "$NODE_IP" ] || { echo "no docker0 address: start the Docker engine first (scripts/docker-engine.sh)" >&2; exit 1; }
cache=$("$here/build.sh")
BIN=$cache/bin
KUBECTL=$cache/kubectl
mkdir -p "$D"
export KUBECONFIG=$D/kubeconfig
# Running, and not a zombie waiting for its parent to reap it.
alive() {
  local pid
  pid=$(cat "$D/$1.pid" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null && ! awk '{exit $3 != "Z"}' "/proc/$pid/stat" 2>/dev/null
}
api_ready() { [ "$(curl -sk -H 'Authorization: Bearer perstack-admin-token' "https://$NODE_IP:$API_PORT/readyz" 2>/dev/null)" = ok ]; }
wait_for() { # description, tries of 0.1 s, command...
  local what=$1 tries=$2; shift 2
  for _ in $(seq 1 "$tries"); do "$@" && return 0; sleep 0.1; done
  log "$what: not ready; see $D/*.log"; return 1
}

write_env() {
  cat >"$D/env" <<ENV
export KUBECONFIG=$D/kubeconfig
export PERSTACK_K8S_NAMESPACE=$K8S_NAMESPACE
export PERSTACK_K8S_WORKSPACE_CLAIM=perstack-workspace
export PERSTACK_K8S_CLAIM_MOUNT=$D/volumes/workspace
export PERSTACK_K8S_JOBS_VOLUME=$D/volumes/jobs
export PERSTACK_GATEWAY_HOST=$NODE_IP
export PERSTACK_KUBECTL=$KUBECTL
ENV
  cat "$D/env"
}

if alive etcd && alive apiserver && alive kcm && alive scheduler && alive kubelet && api_ready; then
  log "already up"
  write_env
  exit 0
fi
start=$(date +%s%N)
# etcd and a C compiler (for the pause image) from Debian's packages, when binaries came from the cache alone.
need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v gcc >/dev/null || need+=(gcc libc6-dev)
command -v curl >/dev/null || need+=(curl)
command -v unshare >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

# The pod sandbox ("pause") image, from the same source tree: a static binary imported into the engine.
if ! docker image inspect "$PAUSE_IMAGE" >/dev/null 2>&1; then
  mkdir -p "$D/pause"
  gcc -Os -Wall -static -DVERSION=v3.4-debian1.20.2 -o "$D/pause/pause" "$cache/pause.c"
  strip "$D/pause/pause"
  tar -C "$D/pause" -c pause | docker import -c 'ENTRYPOINT ["/pause"]' -c 'USER 65535:65535' \
    -c 'LABEL ai.perstack.k8s-pause=1' - "$PAUSE_IMAGE" >/dev/null
fi

# Credentials: the service-account signing key, a CA for the kubelet's client certificates, an admin token.
cd "$D"
[ -f sa.key ] || { openssl genrsa -out sa.key 2048 2>/dev/null; openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null; }
if [ ! -f ca.crt ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 -subj /CN=perstack-k8s-ca 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout kubelet-client.key -out kubelet-client.csr \
    -subj "/O=system:masters/CN=kube-apiserver-kubelet-client" 2>/dev/null
  openssl x509 -req -in kubelet-client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out kubelet-client.crt -days 30 2>/dev/null
fi
echo 'perstack-admin-token,admin,admin-uid,system:masters' >tokens.csv
cat >kubeconfig <<KC
apiVersion: v1
kind: Config
clusters: [{name: perstack-local, cluster: {server: "https://$NODE_IP:$API_PORT", certificate-authority: "$D/certs/apiserver.crt"}}]
users: [{name: admin, user: {token: perstack-admin-token}}]
contexts: [{name: perstack-local, context: {cluster: perstack-local, user: admin, namespace: $K8S_NAMESPACE}}]
current-context: perstack-local
KC

if ! alive etcd; then
  rm -rf "$D/etcd-data"
  ETCD_UNSUPPORTED_ARCH='' etcd --data-dir "$D/etcd-data" --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT" >"$D/etcd.log" 2>&1 &
  echo $! >"$D/etcd.pid"
  wait_for etcd 100 sh -c "curl -s http://127.0.0.1:$ETCD_PORT/health | grep -q true"
fi

if ! alive apiserver; then
  mkdir -p "$D/certs"
  "$BIN/kube-apiserver" --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address="$NODE_IP" --advertise-address="$NODE_IP" --secure-port="$API_PORT" --insecure-port=0 \
    --cert-dir="$D/certs" \
    --token-auth-file="$D/tokens.csv" --authorization-mode=Node,RBAC \
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$D/sa.pub" \
    --service-account-signing-key-file="$D/sa.key" --service-cluster-ip-range=10.0.0.0/24 --allow-privileged=false \
    --feature-gates=TTLAfterFinished=true --kubelet-preferred-address-types=InternalIP \
    --kubelet-client-certificate="$D/kubelet-client.crt" --kubelet-client-key="$D/kubelet-client.key" \
    >"$D/apiserver.log" 2>&1 &
  echo $! >"$D/apiserver.pid"
  wait_for kube-apiserver 600 api_ready
fi
# The API listens on the docker bridge, where the node's pods reach it too (the orchestrator as a Job in k8s/job:
# pods have no kube-proxy here, so they are given this address instead of the `kubernetes` Service's). Its
# self-signed certificate names that address: clients verify it (no skip-verify).

if ! alive kcm; then
  # persistentvolume-binder binds the claims (pvc-/pv-protection let them go); nodelifecycle lifts the kubelet's not-ready taint; deployment and
  # replicaset run k8s/serve.
  "$BIN/kube-controller-manager" --kubeconfig="$D/kubeconfig" --leader-elect=false \
    --controllers=job,garbagecollector,ttl-after-finished,serviceaccount,serviceaccount-token,namespace,podgc,nodelifecycle,persistentvolume-binder,pvc-protection,pv-protection,deployment,replicaset \
    --service-account-private-key-file="$D/sa.key" --root-ca-file="$D/certs/apiserver.crt" \
    --feature-gates=TTLAfterFinished=true --bind-address=127.0.0.1 --secure-port=0 --port=0 \
    >"$D/kcm.log" 2>&1 &
  echo $! >"$D/kcm.pid"
fi
if ! alive scheduler; then
  "$BIN/kube-scheduler" --kubeconfig="$D/kubeconfig" --leader-elect=false --port=0 --secure-port=0 \
    >"$D/scheduler.log" 2>&1 &
  echo $! >"$D/scheduler.pid"
fi

if ! alive kubelet; then
  mkdir -p "$D/kubelet" "$D/dockershim" "$D/kubelet-plugins" "$D/shadow"
  sed -e "s|__STATE__|$D|g" -e "s|__CGROUP_DRIVER__|$(docker info --format '{{.CgroupDriver}}')|" \
    "$here/kubelet-config.yaml" >"$D/kubelet-config.yaml"
  # kubelet 1.20 hard-codes these host paths: remember the ones it creates, so that down.sh removes only those.
  for p in /var/lib/kubelet /var/log/pods /var/log/containers; do
    [ -e "$p" ] || grep -qx "$p" "$D/created-host-paths" 2>/dev/null || echo "$p" >>"$D/created-host-paths"
  done
  # A shared bind: the tmpfs mounts the kubelet makes for Secret volumes reach the engine in the host namespace.
  mountpoint -q "$D/kubelet" || { mount --bind "$D/kubelet" "$D/kubelet"; mount --make-shared "$D/kubelet"; }
  DOCKERD_PID=$(pgrep -xo dockerd 2>/dev/null || cat /var/run/docker.pid)
  export D BIN DOCKERD_PID PAUSE_IMAGE NODE_NAME NODE_IP KUBELET_PORT KUBELET_HEALTHZ_PORT
  # In a private mount namespace: the host-wide writes the kubelet does at start (6 sysctls, dockerd's
  # oom_score_adj) land in shadow files, not in the real /proc entries.
  unshare --mount --propagation unchanged -- bash -c '
    set -e
    mount --make-private /proc
    for k in vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops kernel/keys/root_maxkeys kernel/keys/root_maxbytes; do
      f=$D/shadow/${k//\//_}; cat /proc/sys/$k >$f; mount --bind $f /proc/sys/$k
    done
    cat /proc/$DOCKERD_PID/oom_score_adj >$D/shadow/dockerd_oom_score_adj
    mount --bind $D/shadow/dockerd_oom_score_adj /proc/$DOCKERD_PID/oom_score_adj
    exec $BIN/kubelet --config=$D/kubelet-config.yaml --kubeconfig=$D/kubeconfig \
      --root-dir=$D/kubelet --cert-dir=$D/kubelet/pki \
      --container-runtime=docker --docker-endpoint=unix:///var/run/docker.sock \
      --experimental-dockershim-root-directory=$D/dockershim --pod-infra-container-image=$PAUSE_IMAGE \
      --hostname-override=$NODE_NAME --node-ip=$NODE_IP --address=$NODE_IP --port=$KUBELET_PORT \
      --healthz-port=$KUBELET_HEALTHZ_PORT --network-plugin= --v=1
  ' >"$D/kubelet.log" 2>&1 &
  echo $! >"$D/kubelet.pid"
  wait_for kubelet 600 sh -c "curl -s http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz 2>/dev/null | grep -q ok"
fi

node_ready() {
  [ "$("$KUBECTL" get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}
wait_for "node $NODE_NAME" 600 node_ready

# The namespace and the workspace volume: a hostPath PersistentVolume reserved for the claim k8s/base declares.
mkdir -p "$D/volumes/workspace" "$D/volumes/jobs"
chmod 0755 "$D/volumes" "$D/volumes/workspace" "$D/volumes/jobs"
# Owned by the user pods run as (PERSTACK_K8S_RUN_AS's default): hostPath volumes get no fsGroup ownership.
chown 1000:1000 "$D/volumes/workspace" "$D/volumes/jobs"
"$KUBECTL" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: $K8S_NAMESPACE}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: perstack-workspace-$K8S_NAMESPACE}
spec:
  capacity: {storage: 10Gi}
  accessModes: [ReadWriteMany, ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  claimRef: {namespace: $K8S_NAMESPACE, name: perstack-workspace}
  hostPath: {path: $D/volumes/workspace, type: Directory}
---
# k8s/serve's jobs root
apiVersion: v1
kind: PersistentVolume
metadata: {name: perstack-jobs-$K8S_NAMESPACE}
spec:
  capacity: {storage: 20Gi}
  accessModes: [ReadWriteMany, ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  claimRef: {namespace: $K8S_NAMESPACE, name: perstack-jobs}
  hostPath: {path: $D/volumes/jobs, type: Directory}
YAML
log "node Ready in $((($(date +%s%N) - start) / 1000000)) ms"
write_env
