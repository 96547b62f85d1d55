#!/usr/bin/env bash
# Good custom resources validate against crds/ for Kubernetes 1.30 and 1.34; each bad one fails.
set -u
root="$(cd "$(dirname "$0")/../.." && pwd)"
validate="$root/../shared/k8s/validate.py"
[ -f "$validate" ] || { echo "missing $validate"; echo "0 passed, 1 failed"; exit 1; }
crds=()
for f in "$root"/crds/*.yaml; do crds+=(--crd "$f"); done
pass=0 fail=0
for v in 1.30 1.34; do
  if /usr/bin/python3 "$validate" --k8s-version "$v" "$root"/crds/*.yaml >/dev/null; then pass=$((pass+1)); else
    echo "FAIL: CRDs invalid for $v"; fail=$((fail+1)); fi
  for f in "$root"/tests/k8s/testdata/good/*.yaml; do
    if /usr/bin/python3 "$validate" --k8s-version "$v" "${crds[@]}" "$f" >/dev/null; then pass=$((pass+1)); else
      echo "FAIL: $f should be valid ($v)"; /usr/bin/python3 "$validate" --k8s-version "$v" "${crds[@]}" "$f" | tail -3; fail=$((fail+1)); fi
  done
  for f in "$root"/tests/k8s/testdata/bad/*.yaml; do
    if /usr/bin/python3 "$validate" --k8s-version "$v" "${crds[@]}" "$f" >/dev/null; then
      echo "FAIL: $f should be rejected ($v)"; fail=$((fail+1)); else pass=$((pass+1)); fi
  done
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
