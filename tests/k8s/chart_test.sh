#!/usr/bin/env bash
# The Helm chart with the real helm: lint --strict, and default and HA renderings valid for
# Kubernetes 1.30 and 1.34; its crds/ must be the repository's crds/.
set -u
root="$(cd "$(dirname "$0")/../.." && pwd)"
tools=$(bash "$root/scripts/get-k8s-tools.sh") || { echo "0 passed, 1 failed"; exit 1; }
helm="$tools/helm/helm"
validate="$root/../shared/k8s/validate.py"
chart="$root/charts/outrigger"
pass=0 fail=0
check() { if eval "$2" >/tmp/chart-test.$$ 2>&1; then pass=$((pass+1)); else echo "FAIL: $1"; tail -5 /tmp/chart-test.$$; fail=$((fail+1)); fi; }
check "helm lint --strict" '"$helm" lint --strict "$chart"'
check "chart crds/ equal the repository crds/" 'diff -r "$root/crds" "$chart/crds"'
for values in "" "-f $chart/values-ha.yaml"; do
  for v in 1.30 1.34; do
    check "template ${values:-default} valid for $v" \
      '"$helm" template t "$chart" --namespace dapr-system --include-crds $values | /usr/bin/python3 "$validate" --k8s-version $v -'
  done
done
check "a bad value is refused by values.schema.json" '! "$helm" template t "$chart" --set operator.logLevel=loud'
rm -f /tmp/chart-test.$$
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
