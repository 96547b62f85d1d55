#!/usr/bin/env bash
# The Helm chart with the real helm: lint --strict; default, HA and cert-manager renderings valid
# for Kubernetes 1.30 and 1.34 (validate.py) and right in what a schema cannot see (chart_checks.py:
# Dapr's names and ports, least-privilege RBAC, hardened pods, the webhook certificate); values
# outside values.schema.json refused.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tools=$(bash "$root/scripts/get-k8s-tools.sh") || { echo "FAIL: get-k8s-tools.sh"; echo "0 passed, 1 failed"; exit 1; }
helm="$tools/helm/helm"
py=/usr/bin/python3  # Debian's, with python3-yaml and python3-jsonschema
validate="$root/../shared/k8s/validate.py"
chart="$root/charts/outrigger"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
pass=0 fail=0
check() {
  if eval "$2" >"$out" 2>&1; then pass=$((pass+1)); else
    echo "FAIL: $1"; sed 's/^/    /' "$out" | tail -8; fail=$((fail+1)); fi
}
render() { "$helm" template outrigger "$chart" --namespace dapr-system "$@"; }

check "helm lint --strict" '"$helm" lint --strict "$chart"'
check "helm lint --strict (HA values)" '"$helm" lint --strict "$chart" -f "$chart/values-ha.yaml"'
check "chart crds/ equal the repository crds/" 'diff -r "$root/crds" "$chart/crds"'

for v in 1.30 1.34; do
  check "default rendering valid for $v" \
    'render --include-crds | "$py" "$validate" --k8s-version $v -'
  check "HA rendering valid for $v" \
    'render --include-crds -f "$chart/values-ha.yaml" | "$py" "$validate" --k8s-version $v -'
  # cert-manager's own kinds have no schema here; everything else must still validate.
  check "cert-manager rendering valid for $v" \
    'render --include-crds --set injector.webhook.certManager.enabled=true |
       "$py" "$validate" --k8s-version $v --ignore-missing-schemas -'
done

check "default rendering: names, RBAC, pods, self-signed webhook certificate" \
  'render | "$py" "$here/chart_checks.py" --namespace dapr-system'
check "HA rendering: replicas, PodDisruptionBudgets, anti-affinity" \
  'render -f "$chart/values-ha.yaml" | "$py" "$here/chart_checks.py" --namespace dapr-system --ha'
check "failurePolicy Fail, another namespace and registry" \
  '"$helm" template o "$chart" --namespace ops --set injector.webhook.failurePolicy=Fail \
       --set image.registry=registry.example.com/o |
     "$py" "$here/chart_checks.py" --namespace ops --failure-policy Fail --registry registry.example.com/o'
check "cert-manager: Certificate, self-signed CA Issuer, cainjector annotation" \
  'render --set injector.webhook.certManager.enabled=true |
     "$py" "$here/chart_checks.py" --namespace dapr-system --cert-manager'
check "cert-manager with a ClusterIssuer of the user's" \
  'render --set injector.webhook.certManager.enabled=true \
       --set injector.webhook.certManager.issuerRef.name=corp-ca \
       --set injector.webhook.certManager.issuerRef.kind=ClusterIssuer |
     "$py" "$here/chart_checks.py" --namespace dapr-system --cert-manager'
check "the sidecar image follows the registry and tag" \
  'render --set image.tag=9.9.9 | grep -qx -- "        - --sidecar-image=ghcr.io/outrigger/outriggerd:9.9.9"'

# Every flag the chart passes must be one the binary defines (the injector's once it is in the tree).
flags_known() {  # deployment options.cc
  local args
  args=$(render | "$py" -c 'import sys, yaml
for d in yaml.safe_load_all(sys.stdin):
    if d and d["kind"] == "Deployment" and d["metadata"]["name"] == sys.argv[1]:
        for a in d["spec"]["template"]["spec"]["containers"][0]["args"]:
            print(a.split("=")[0][2:])' "$1") || return 1
  [ -n "$args" ] || return 1
  for a in $args; do grep -q "\"$a\"" "$2" || { echo "--$a is not in $2"; return 1; }; done
}
check "operator flags exist in operator/options.cc" 'flags_known dapr-operator "$root/operator/options.cc"'
if [ -f "$root/injector/options.cc" ]; then
  check "injector flags exist in injector/options.cc" \
    'flags_known dapr-sidecar-injector "$root/injector/options.cc"'
else
  echo "SKIP: injector/options.cc not in the tree yet"
fi

for bad in injector.webhook.failurePolicy=Sometimes operator.logLevel=loud ha.replicas=1 \
           injector.webhook.timeoutSeconds=31 injector.webhok.failurePolicy=Fail image.registry=; do
  check "values.schema.json refuses $bad" '! render --set "$bad"'
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
