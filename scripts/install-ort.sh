#!/usr/bin/env bash
# Installs onnxruntime-node from the npm registry into a cache folder (not the repository) and prints its
# node_modules path. Its install script, which only fetches optional GPU libraries from outside the registry, is
# skipped: the CPU runtime ships in the package. Installs Debian's nodejs and npm first if node is missing.
#   NODE_PATH=$(scripts/install-ort.sh) node script.js
set -euo pipefail
version=1.30.0
cache=${XINFER_CACHE:-$HOME/.cache/xinfer}/onnxruntime-node
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq >&2 && $sudo apt-get install -y -qq nodejs npm >&2
fi
if [ ! -f "$cache/node_modules/onnxruntime-node/package.json" ] ||
   ! grep -q "\"version\": \"$version\"" "$cache/node_modules/onnxruntime-node/package.json"; then
  mkdir -p "$cache"
  (cd "$cache" && npm install --ignore-scripts --no-audit --no-fund "onnxruntime-node@$version" >&2)
fi
echo "$cache/node_modules"
