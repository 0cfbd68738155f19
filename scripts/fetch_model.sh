#!/usr/bin/env bash
# Fetches the default model: the Keras MobileNetV2 content-safety classifier (Drawing, Hentai, Neutral, Porn, Sexy)
# that the npm package nsfwjs@4.4.0 (MIT) embeds as base64 inside dist/models/mobilenet_v2/*.min.js. Writes the
# standard TF.js layers files <cache>/nsfw_mobilenet_v2_tfjs/{model.json,group1-shard1of1.bin}, checked against
# pinned hashes. With the xinfer CLI as $1, also converts them to <cache>/nsfw_mobilenet_v2.xinf.
#
# Usage: scripts/fetch_model.sh [path/to/xinfer]      cache: ${XINFER_CACHE:-$HOME/.cache/xinfer}
# Installs nodejs and npm (Debian 12, as root or through sudo) when missing. Safe to rerun: verified outputs are
# kept. Progress goes to stderr; the last line on stdout is the model folder.
set -euo pipefail

package=nsfwjs@4.4.0
integrity='sha512-krC1fgeTLXtZwgdpKJ0jm7hqv0gTSRQQRL+FhOaxaJ9Wj92t42BO3csO2odwgTAgZgf2RvkwPtp0R8Aa7dc+MA=='
model_sha256=f12c449cf6ba0b4cd48d648468b8d955379ed13d6acb46b77de0aae30172ac09
shard_sha256=8e7dddbb16acacc1bf1601b1b8a761e730ff934b7f2d7771312b2f000e5f5f13

cli=${1:-}
cache=${XINFER_CACHE:-$HOME/.cache/xinfer}
out=$cache/nsfw_mobilenet_v2_tfjs
tarball=$cache/nsfwjs-4.4.0.tgz

log() { echo "fetch_model: $*" >&2; }
die() { log "error: $*"; exit 1; }

outputs_ok() {
  [ -f "$out/model.json" ] && [ -f "$out/group1-shard1of1.bin" ] &&
    echo "$model_sha256  $out/model.json
$shard_sha256  $out/group1-shard1of1.bin" | sha256sum --check --status
}

need_node() {
  command -v node >/dev/null && command -v npm >/dev/null && return
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "nodejs and npm are missing; run as root or install sudo"
    sudo=sudo
  fi
  log "installing nodejs and npm"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends nodejs npm >&2
}

# sha512-<base64> of a file, as npm writes integrity.
sri_of() {
  node -e 'const c = require("crypto"), fs = require("fs");
    console.log("sha512-" + c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"));' "$1"
}

if outputs_ok; then
  log "model files present and verified in $out"
else
  need_node
  mkdir -p "$cache"
  if [ ! -f "$tarball" ] || [ "$(sri_of "$tarball")" != "$integrity" ]; then
    log "downloading $package"
    rm -f "$tarball"
    (cd "$cache" && npm pack "$package" --silent >/dev/null)
  fi
  [ -f "$tarball" ] || die "npm pack did not produce $tarball"
  actual=$(sri_of "$tarball")
  if [ "$actual" != "$integrity" ]; then
    rm -f "$tarball"
    die "integrity mismatch for $package: expected $integrity, got $actual (tarball deleted)"
  fi
  log "integrity of $package verified"

  work=$(mktemp -d "$cache/extract.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  tar -xzf "$tarball" -C "$work" package/dist/models/mobilenet_v2/model.min.js \
    package/dist/models/mobilenet_v2/group1-shard1of1.min.js
  # Each file is a browserify bundle whose module.exports is the model.json object, resp. the shard as base64.
  # Evaluate each in an empty context that offers only module/exports, with a time limit.
  node - "$work/package/dist/models/mobilenet_v2" "$work" <<'EOF'
const vm = require("vm"), fs = require("fs"), path = require("path");
const [src, dst] = process.argv.slice(2);
function exported(file) {
  const module = { exports: {} };
  const context = vm.createContext({ module, exports: module.exports });
  vm.runInContext(fs.readFileSync(path.join(src, file), "utf8"), context, { filename: file, timeout: 60000 });
  return module.exports;
}
const model = exported("model.min.js");
const shard = exported("group1-shard1of1.min.js");
if (typeof model !== "object" || !model.modelTopology || !Array.isArray(model.weightsManifest) ||
    model.weightsManifest.length !== 1)
  throw new Error("model.min.js does not export a one-group TF.js layers model");
if (typeof shard !== "string") throw new Error("group1-shard1of1.min.js does not export a base64 string");
model.weightsManifest[0].paths = ["group1-shard1of1.bin"];  // the file written beside model.json
fs.writeFileSync(path.join(dst, "model.json"), JSON.stringify(model));
fs.writeFileSync(path.join(dst, "group1-shard1of1.bin"), Buffer.from(shard, "base64"));
EOF
  mkdir -p "$out"
  mv -f "$work/model.json" "$work/group1-shard1of1.bin" "$out/"
  outputs_ok || die "the extracted files in $out do not match the pinned sha256 sums"
  log "wrote and verified $out"
fi

if [ -n "$cli" ]; then
  xinf=$cache/nsfw_mobilenet_v2.xinf
  if [ -s "$xinf" ] && [ "$xinf" -nt "$cli" ] && [ "$xinf" -nt "$out/model.json" ]; then
    log "$xinf is up to date"
  else
    log "converting to $xinf"
    "$cli" convert "$out/model.json" -o "$xinf" --labels Drawing,Hentai,Neutral,Porn,Sexy --scale 1/255 \
      --size 224x224 --resize stretch >&2
  fi
fi
echo "$out"
