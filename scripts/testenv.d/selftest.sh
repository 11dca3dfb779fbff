#!/usr/bin/env bash
# shellcheck disable=SC2015,SC2013  # `check && pass || fail` (pass only prints); node names have no spaces
# Checks that the control plane started by `scripts/testenv up` really behaves like
# Kubernetes. Called as `scripts/testenv selftest` (arguments: <bin dir> <run dir>).
# Leaves the cluster as it found it (its namespace is deleted, a deleted node re-created).
set -euo pipefail

BIN=$1
RUN=$2
# shellcheck disable=SC1091
source "$RUN/ports.env"
export KUBECONFIG="$RUN/kubeconfig"
PKI="$RUN/pki"
NS="selftest-$$"
REPLICAS=6
T0=$(date +%s)
FAILED=0

k() { "$BIN/kubectl" "$@"; }
api() {  # method path [body] -> prints "<http code> <body>"
  local out code
  out=$(mktemp)
  code=$(curl -sS --max-time 10 -o "$out" -w '%{http_code}' --cacert "$PKI/ca.crt" \
    --cert "$PKI/admin.crt" --key "$PKI/admin.key" -X "$1" \
    -H 'Content-Type: application/json' ${3:+--data "$3"} \
    "https://127.0.0.1:$APISERVER_PORT$2")
  echo "$code $(tr -d '\n' <"$out")"
  rm -f "$out"
}
pass() { printf 'PASS [%4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
fail() { printf 'FAIL [%4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; FAILED=1; }
# poll <timeout-seconds> <command...>: true once the command succeeds
poll() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s) >= deadline )) && return 1
    sleep 1
  done
}
ready_replicas_is() {  # deployment n
  [[ "$(k -n "$NS" get deploy "$1" -o jsonpath='{.status.readyReplicas}')" == "$2" ]] &&
  [[ "$(k -n "$NS" get deploy "$1" -o jsonpath='{.status.updatedReplicas}')" == "$2" ]] &&
  [[ "$(k -n "$NS" get pods -l app="$1" --no-headers 2>/dev/null | wc -l)" == "$2" ]]
}
LOGFILE="$RUN/selftest-$$.log"
cleanup() {
  k delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
  k delete "clusterexec/$NS" "clusterlogs/$NS" --ignore-not-found >/dev/null 2>&1 || true
  rm -f "$LOGFILE"
}
trap cleanup EXIT

echo "selftest: namespace $NS, apiserver https://127.0.0.1:$APISERVER_PORT"

# 1. versions and health ---------------------------------------------------------------
server_version=$(k version -o json | sed -n '/serverVersion/,/}/s/.*"gitVersion": "\(.*\)".*/\1/p')
client_version=$(k version -o json | sed -n '/clientVersion/,/}/s/.*"gitVersion": "\(.*\)".*/\1/p')
if [[ -n "$server_version" && "$server_version" == "$client_version" && "$server_version" != v0.0.0* ]]; then
  pass "kubectl $client_version talks to kube-apiserver $server_version"
else fail "version mismatch: client '$client_version' server '$server_version'"; fi
readyz=$(k get --raw='/readyz?verbose' 2>&1 || true)
if grep -q 'readyz check passed' <<<"$readyz" && grep -q '\[+\]etcd ok' <<<"$readyz"; then
  pass "/readyz: all $(grep -c '^\[+\]' <<<"$readyz") checks ok (incl. etcd)"
else fail "/readyz: $readyz"; fi
etcd_version=$(curl -sf "http://127.0.0.1:$ETCD_PORT/version" || true)
[[ -n "$etcd_version" ]] && pass "etcd $etcd_version" || fail "etcd /version"

# 2. nodes --------------------------------------------------------------------------------
nodes=$(k get nodes -l type=kwok -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.labels.topology\.kubernetes\.io/zone} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')
n_ready=$(grep -c ' True$' <<<"$nodes" || true)
n_zones=$(awk '$3 == "True" { print $2 }' <<<"$nodes" | sort -u | wc -l)
leases=$(k -n kube-node-lease get leases --no-headers 2>/dev/null | wc -l)
if (( n_ready >= 3 && n_zones >= 2 )); then
  pass "$n_ready Ready kwok nodes over $n_zones zones, $leases node leases"
else fail "nodes: $nodes"; fi

# 3. namespace + serviceaccount-token controllers -------------------------------------------
k create namespace "$NS" >/dev/null
if poll 60 k -n "$NS" get serviceaccount default; then
  pass "namespace $NS got its default ServiceAccount (serviceaccount controller)"
else fail "no default ServiceAccount in $NS"; fi
if poll 30 k -n "$NS" get configmap kube-root-ca.crt; then
  pass "kube-root-ca.crt ConfigMap published (root-ca-cert-publisher)"
else fail "kube-root-ca.crt missing in $NS"; fi
token=$(k -n "$NS" create token default --duration=10m 2>&1 || true)
if [[ "$token" == ey* ]]; then
  # bearer token only (no client certificate, which the apiserver would check first)
  who=$(curl -sS --max-time 10 --cacert "$PKI/ca.crt" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -X POST \
    --data '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}' \
    "https://127.0.0.1:$APISERVER_PORT/apis/authentication.k8s.io/v1/selfsubjectreviews" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["userInfo"]["username"])' 2>&1 || true)
  [[ "$who" == "system:serviceaccount:$NS:default" ]] &&
    pass "TokenRequest issued a token that authenticates as $who" ||
    fail "token does not authenticate: $who"
else fail "create token: $token"; fi
n_ctrl_sa=$(k -n kube-system get serviceaccounts --no-headers | grep -c -- '-controller' || true)
(( n_ctrl_sa > 10 )) && pass "controller-manager runs with per-controller credentials ($n_ctrl_sa controller ServiceAccounts)" ||
  fail "only $n_ctrl_sa controller ServiceAccounts in kube-system"

# 4. Deployment -> ReplicaSet -> Pods, scheduled onto kwok nodes, Running and Ready --------------
k -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: $REPLICAS
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}
      containers:
      - name: web
        image: registry.invalid/web:1
        resources: {requests: {cpu: 100m, memory: 64Mi}}
EOF
if poll 90 ready_replicas_is web "$REPLICAS"; then
  pass "Deployment web: $REPLICAS/$REPLICAS replicas ready"
else fail "Deployment web not ready: $(k -n "$NS" get deploy,rs,pods -o wide 2>&1)"; fi
rs=$(k -n "$NS" get rs -l app=web -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}{"\n"}{end}')
[[ "$rs" == *" Deployment/web"* ]] && pass "ReplicaSet $(awk '{print $1}' <<<"$rs") owned by Deployment/web" || fail "ReplicaSet: $rs"
pods=$(k -n "$NS" get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName} {.status.phase} {.status.conditions[?(@.type=="Ready")].status} {.status.podIP} {.metadata.ownerReferences[0].kind}{"\n"}{end}')
bad=$(awk '$2 !~ /^kwok-/ || $3 != "Running" || $4 != "True" || $5 == "" || $6 != "ReplicaSet"' <<<"$pods")
if [[ -z "$bad" && $(wc -l <<<"$pods") == "$REPLICAS" ]]; then
  pass "all $REPLICAS pods bound by the scheduler to kwok nodes, Running, Ready, with pod IPs"
else fail "pods: $pods"; fi
zones_used=$(for n in $(awk '{print $2}' <<<"$pods"); do k get node "$n" -o jsonpath='{.metadata.labels.topology\.kubernetes\.io/zone}{"\n"}'; done | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')
[[ "$zones_used" == *zone-a=3* && "$zones_used" == *zone-b=3* ]] &&
  pass "zone topology spread honoured: $zones_used" || fail "zone spread: $zones_used"
events=$(k -n "$NS" get events --field-selector reason=Scheduled --no-headers 2>/dev/null | wc -l)
(( events >= REPLICAS )) && pass "$events Scheduled events from default-scheduler" || fail "only $events Scheduled events"

# 4b. kubelet API: kwok's server answers exec and logs (ClusterExec / ClusterLogs) ------------
pod=$(k -n "$NS" get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
printf '%s stdout F selftest log line %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" "$$" >"$LOGFILE"
k apply -f - >/dev/null <<EOF
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterExec
metadata: {name: $NS}
spec:
  selector: {matchNamespaces: [$NS]}
  execs: [{local: {envs: [{name: SELFTEST, value: "$NS"}]}}]
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata: {name: $NS}
spec:
  selector: {matchNamespaces: [$NS]}
  logs: [{logsFile: "$LOGFILE"}]
EOF
# shellcheck disable=SC2016  # $SELFTEST is expanded by the exec'd shell
exec_says() { [[ "$(k -n "$NS" exec "$pod" -- sh -c 'echo "exec in $SELFTEST"' 2>&1)" == "exec in $NS" ]]; }
if poll 30 exec_says; then
  pass "kubectl exec $pod: ran on the host through the apiserver and kwok (ClusterExec, kubelet cert verified)"
else fail "kubectl exec $pod: $(k -n "$NS" exec "$pod" -- echo hi 2>&1)"; fi
logs_say() { [[ "$(k -n "$NS" logs "$pod" 2>&1)" == "selftest log line $$" ]]; }
if poll 30 logs_say; then
  pass "kubectl logs $pod: served from a local file (ClusterLogs)"
else fail "kubectl logs $pod: $(k -n "$NS" logs "$pod" 2>&1)"; fi
k delete "clusterexec/$NS" "clusterlogs/$NS" >/dev/null

# 5. Eviction API honours a PodDisruptionBudget --------------------------------------------------
k -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  minAvailable: $REPLICAS
  selector: {matchLabels: {app: web}}
EOF
pdb_settled() {  # allowed
  local gen obs allowed
  gen=$(k -n "$NS" get pdb web -o jsonpath='{.metadata.generation}')
  obs=$(k -n "$NS" get pdb web -o jsonpath='{.status.observedGeneration}')
  allowed=$(k -n "$NS" get pdb web -o jsonpath='{.status.disruptionsAllowed}')
  [[ -n "$obs" && "$gen" == "$obs" && "$allowed" == "$1" ]]
}
if poll 60 pdb_settled 0; then
  pass "PDB web (minAvailable=$REPLICAS): disruption controller reports disruptionsAllowed=0, currentHealthy=$(k -n "$NS" get pdb web -o jsonpath='{.status.currentHealthy}')"
else fail "PDB status: $(k -n "$NS" get pdb web -o yaml)"; fi
victim=$(k -n "$NS" get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
eviction="{\"apiVersion\":\"policy/v1\",\"kind\":\"Eviction\",\"metadata\":{\"name\":\"$victim\",\"namespace\":\"$NS\"}}"
res=$(api POST "/api/v1/namespaces/$NS/pods/$victim/eviction" "$eviction")
if [[ "${res%% *}" == 429 && "$res" == *"disruption budget"* ]]; then
  pass "eviction of $victim refused: HTTP 429 ($(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["message"])' "${res#* }" 2>/dev/null))"
else fail "eviction should be refused with 429, got: $res"; fi
k -n "$NS" get pod "$victim" >/dev/null 2>&1 && pass "$victim still exists" || fail "$victim was deleted despite the PDB"
k -n "$NS" patch pdb web --type=merge -p "{\"spec\":{\"minAvailable\":$((REPLICAS - 1))}}" >/dev/null
if poll 60 pdb_settled 1; then pass "PDB relaxed to minAvailable=$((REPLICAS - 1)): disruptionsAllowed=1"; else fail "PDB did not allow 1 disruption"; fi
res=$(api POST "/api/v1/namespaces/$NS/pods/$victim/eviction" "$eviction")
if [[ "${res%% *}" == 201 ]]; then pass "eviction of $victim accepted: HTTP 201"; else fail "eviction should succeed, got: $res"; fi
if poll 30 bash -c "! '$BIN/kubectl' -n '$NS' get pod '$victim'"; then
  pass "$victim is gone (kwok completed the deletion)"
else fail "$victim still present after eviction"; fi
if poll 60 ready_replicas_is web "$REPLICAS"; then pass "ReplicaSet replaced the evicted pod ($REPLICAS/$REPLICAS ready)"; else fail "no replacement after eviction"; fi

# 6. A NotReady node gets tainted and its pods are evicted (node-lifecycle + taint-eviction) ----
k -n "$NS" delete pdb web >/dev/null
sick=$(k -n "$NS" get pods -l app=web -o jsonpath='{.items[0].spec.nodeName}')
on_sick=$(k -n "$NS" get pods -l app=web --field-selector "spec.nodeName=$sick" -o jsonpath='{.items[*].metadata.name}')
k label node "$sick" node-not-ready.stage.kwok.x-k8s.io=true >/dev/null
t_sick=$(date +%s)
tainted() { [[ "$(k get node "$sick" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.spec.taints[*].key}')" == "False "*node.kubernetes.io/not-ready* ]]; }
if poll 30 tainted; then pass "node $sick NotReady (kwok node-not-ready stage) and tainted node.kubernetes.io/not-ready after $(( $(date +%s) - t_sick ))s"
else fail "node $sick not NotReady/tainted: $(k get node "$sick" -o jsonpath='{.status.conditions} {.spec.taints}')"; fi
evicted() { local p; for p in $on_sick; do k -n "$NS" get pod "$p" >/dev/null 2>&1 && return 1; done; return 0; }
if poll 90 evicted; then
  pass "its pods ($on_sick) evicted after $(( $(date +%s) - t_sick ))s (30s default toleration)"
else fail "pods not evicted from NotReady node $sick: $(k -n "$NS" get pods -o wide)"; fi
if poll 60 ready_replicas_is web "$REPLICAS"; then pass "Deployment back to $REPLICAS/$REPLICAS ready elsewhere"; else fail "no recovery after taint eviction"; fi
k label node "$sick" node-not-ready.stage.kwok.x-k8s.io- >/dev/null
healthy() { [[ "$(k get node "$sick" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.spec.taints}')" == "True " ]]; }
if poll 60 healthy; then pass "label removed: node $sick Ready again, taints gone"; else fail "node $sick did not recover"; fi

# 7. A deleted node loses its pods -------------------------------------------------------------
node=$(k -n "$NS" get pods -l app=web -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort | uniq -c | sort -rn | awk 'NR==1 {print $2}')
node_yaml=$(k get node "$node" -o json)
on_node=$(k -n "$NS" get pods -l app=web --field-selector "spec.nodeName=$node" -o jsonpath='{.items[*].metadata.name}')
k delete node "$node" >/dev/null
pass "deleted node $node (had pods: $on_node)"
gone() { local p; for p in $on_node; do k -n "$NS" get pod "$p" >/dev/null 2>&1 && return 1; done; return 0; }
t_del=$(date +%s)
if poll 150 gone; then
  pass "pods of deleted node $node removed by pod GC after $(( $(date +%s) - t_del ))s"
else fail "pods still bound to deleted node $node: $(k -n "$NS" get pods -o wide)"; fi
# with one node fewer in its zone the zone spread still fits on the remaining node
if poll 90 ready_replicas_is web "$REPLICAS"; then
  pass "Deployment back to $REPLICAS/$REPLICAS ready on the remaining nodes"
else fail "Deployment did not recover: $(k -n "$NS" get pods -o wide)"; fi
# put the node back as it was (strip server-set metadata)
python3 - "$node_yaml" <<'PY' | k create -f - >/dev/null
import json, sys
n = json.loads(sys.argv[1])
m = n["metadata"]
n["metadata"] = {k: m[k] for k in ("name", "labels", "annotations") if k in m}
n["spec"] = {k: v for k, v in n["spec"].items() if k in ("podCIDR", "podCIDRs", "providerID")}
n["status"] = {k: n["status"][k] for k in ("allocatable", "capacity")}
print(json.dumps(n))
PY
node_ready() { [[ "$(k get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.spec.taints}')" == "True " ]]; }
if poll 60 node_ready; then pass "node $node re-created and Ready again"; else fail "re-created node $node not Ready"; fi

# 8. garbage collector and namespace controller -------------------------------------------------
k -n "$NS" delete deployment web --wait=false >/dev/null
no_owned() { [[ -z "$(k -n "$NS" get rs,pods -l app=web -o name 2>/dev/null)" ]]; }
if poll 60 no_owned; then pass "garbage collector removed the ReplicaSet and Pods of the deleted Deployment"; else fail "orphans left: $(k -n "$NS" get rs,pods)"; fi
k delete namespace "$NS" --wait=false >/dev/null
if poll 90 bash -c "! '$BIN/kubectl' get namespace '$NS'"; then
  pass "namespace $NS deleted (namespace controller finalized it)"
else fail "namespace $NS stuck: $(k get namespace "$NS" -o jsonpath='{.status}')"; fi
trap - EXIT

echo
if (( FAILED )); then echo "selftest: FAILED after $(( $(date +%s) - T0 ))s"; exit 1; fi
echo "selftest: all checks passed in $(( $(date +%s) - T0 ))s"
