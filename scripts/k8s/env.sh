# Shared settings of the test cluster's scripts (sourced). Everything it writes lives under $PERSTACK_K8S_STATE.
export PERSTACK_K8S_STATE=${PERSTACK_K8S_STATE:-/tmp/perstack-k8s}
D=$PERSTACK_K8S_STATE
ETCD_PORT=${ETCD_PORT:-22379}
ETCD_PEER_PORT=${ETCD_PEER_PORT:-22380}
API_PORT=${API_PORT:-26443}
KUBELET_PORT=${KUBELET_PORT:-20250}
KUBELET_HEALTHZ_PORT=${KUBELET_HEALTHZ_PORT:-20248}
NODE_NAME=${NODE_NAME:-perstack-node}
PAUSE_IMAGE=${PAUSE_IMAGE:-perstack-k8s/pause:3.4}
# The namespace the project's tests and README use; down.sh removes only pods' containers of this namespace.
K8S_NAMESPACE=${K8S_NAMESPACE:-perstack}
# The Node's InternalIP: kubelet 1.20 refuses a loopback one; the docker bridge's address is what pods reach too.
NODE_IP=${NODE_IP:-$(ip -4 -o addr show docker0 2>/dev/null | awk '{print $4}' | cut -d/ -f1)}
