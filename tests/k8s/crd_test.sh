#!/usr/bin/env bash
# The CRDs are valid for Kubernetes 1.30 and 1.34; every good custom resource validates against
# them; every bad one is refused (exit code 1) for the reason its "# expect:" line names.
set -u
root="$(cd "$(dirname "$0")/../.." && pwd)"
validate="$root/../shared/k8s/validate.py"
py=/usr/bin/python3  # Debian's, with python3-yaml and python3-jsonschema
[ -f "$validate" ] || { echo "missing $validate"; echo "0 passed, 1 failed"; exit 1; }
crds=()
for f in "$root"/crds/*.yaml; do crds+=(--crd "$f"); done
out=$(mktemp)
trap 'rm -f "$out"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); }
ko() { echo "FAIL: $1"; sed 's/^/    /' "$out" | tail -5; fail=$((fail+1)); }

for v in 1.30 1.34; do
  "$py" "$validate" --k8s-version "$v" "$root"/crds/*.yaml >"$out" 2>&1
  rc=$?
  if [ $rc = 0 ]; then ok; else ko "CRDs invalid for $v (exit $rc)"; fi
  for f in "$root"/tests/k8s/testdata/good/*.yaml; do
    "$py" "$validate" --k8s-version "$v" "${crds[@]}" "$f" >"$out" 2>&1
    rc=$?
    if [ $rc = 0 ]; then ok; else ko "$(basename "$f") should be valid for $v (exit $rc)"; fi
  done
  for f in "$root"/tests/k8s/testdata/bad/*.yaml; do
    want=$(sed -n 's/^# expect: //p' "$f" | head -1)
    "$py" "$validate" --k8s-version "$v" "${crds[@]}" "$f" >"$out" 2>&1
    rc=$?
    if [ $rc != 1 ]; then
      ko "$(basename "$f") should be refused for $v (exit $rc, want 1)"
    elif [ -z "$want" ]; then
      ko "$(basename "$f") has no '# expect:' line"
    elif ! grep -qF "ERROR   $want" "$out"; then
      ko "$(basename "$f") refused for $v, but not with: $want"
    else
      ok
    fi
  done
done

# The chart ships the same CRDs.
if diff -r "$root/crds" "$root/charts/outrigger/crds" >"$out" 2>&1; then ok; else
  ko "charts/outrigger/crds differs from crds/"; fi

# Subscription conversion is "None": the API server only rewrites apiVersion and prunes what the
# target version's schema lacks, so both versions must know the same spec fields or a route is lost
# between v1alpha1 and the stored v2alpha1.
if "$py" - "$root/crds/subscriptions.yaml" >"$out" 2>&1 <<'EOF'
import sys, yaml
crd = yaml.safe_load(open(sys.argv[1]))
assert crd["spec"]["conversion"]["strategy"] == "None", "conversion strategy changed: revisit"
specs = {v["name"]: v["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
         for v in crd["spec"]["versions"]}
storage = [v["name"] for v in crd["spec"]["versions"] if v["storage"]]
assert storage == ["v2alpha1"], storage
a, b = set(specs["v1alpha1"]), set(specs["v2alpha1"])
assert a == b, "fields only in one version: %s" % sorted(a ^ b)
EOF
then ok; else ko "Subscription versions do not round-trip without a conversion webhook"; fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
