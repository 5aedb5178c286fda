#!/usr/bin/env bash
# Stops the test cluster up.sh started (by PID) and removes only what it created: the containers of its pods
# (by dockershim's labels, in its namespace), the mounts under its state folder, the host paths the kubelet made,
# and the state folder. Safe to run when nothing is up.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
[ -d "$D" ] || exit 0
export KUBECONFIG=$D/kubeconfig
KUBECTL=$(ls "${PERSTACK_CACHE:-$HOME/.cache/perstack}"/k8s/*/kubectl 2>/dev/null | head -1)
# 1. let the kubelet tear down the pods while it still runs
[ -n "$KUBECTL" ] && timeout 20 "$KUBECTL" delete namespace "$K8S_NAMESPACE" --wait=false >/dev/null 2>&1
# 2. processes, kubelet first
for p in kubelet scheduler kcm apiserver etcd; do
  [ -f "$D/$p.pid" ] && kill "$(cat "$D/$p.pid")" 2>/dev/null
done
sleep 2
for p in kubelet scheduler kcm apiserver etcd; do
  [ -f "$D/$p.pid" ] && kill -9 "$(cat "$D/$p.pid")" 2>/dev/null
  rm -f "$D/$p.pid"
done
# 3. the containers the kubelet made (dockershim labels each one io.kubernetes.docker.type), in our namespace only
ids=$(docker ps -aq --filter label=io.kubernetes.docker.type --filter "label=io.kubernetes.pod.namespace=$K8S_NAMESPACE")
[ -n "$ids" ] && docker rm -f $ids >/dev/null
# 4. mounts under the state folder (Secret tmpfs that propagated out, the kubelet's shared bind), deepest first
grep " $D" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
# 5. the host paths kubelet 1.20 hard-codes, if it created them
if [ -f "$D/created-host-paths" ]; then
  while read -r p; do rm -rf "$p"; done <"$D/created-host-paths"
fi
rm -rf "$D"
echo "[k8s-down] stopped; removed $D" >&2
