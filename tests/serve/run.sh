#!/usr/bin/env bash
# The serving test suite: `xinfer serve` over real HTTP on loopback (tests/serve/README.md).
#
# Usage: tests/serve/run.sh XINFER_CLI PHOTOS_DIR [--quick] [PYTEST ARGS...]
#   --quick   no load tests and a shorter robustness run, with generous timeouts (sanitizer builds)
# Exit status 77 (skipped) when the model cannot be fetched, the CLI has no `serve`, or Debian's python3 lacks
# pytest, requests, PIL or numpy.
set -euo pipefail
cli=${1:?usage: run.sh XINFER_CLI PHOTOS_DIR [--quick] [PYTEST ARGS...]}
photos=${2:?usage: run.sh XINFER_CLI PHOTOS_DIR [--quick] [PYTEST ARGS...]}
shift 2
quick=0
if [ "${1:-}" = "--quick" ]; then
  quick=1
  shift
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
python=/usr/bin/python3
skip() { echo "SKIP: $*"; exit 77; }

[ -x "$cli" ] || { echo "FAIL: $cli is not an executable"; exit 1; }
"$cli" serve --help >/dev/null 2>&1 || skip "$cli was built without 'xinfer serve' (no cpp-httplib)"
[ -x "$python" ] || skip "$python is missing"
"$python" -c 'import pytest, requests, PIL, numpy' 2>/dev/null ||
  skip "$python lacks pytest, requests, PIL or numpy (scripts/install-deps.sh installs them)"
"$root/scripts/fetch_model.sh" "$cli" >/dev/null || skip "the model could not be fetched (scripts/fetch_model.sh)"
model=${XINFER_CACHE:-$HOME/.cache/xinfer}/nsfw_mobilenet_v2.xinf
[ -s "$model" ] || skip "no converted model at $model"

export XINFER_CLI=$(cd "$(dirname "$cli")" && pwd)/$(basename "$cli")
export XINFER_PHOTOS=$(cd "$photos" && pwd)
export XINFER_MODEL=$model
export XINFER_SERVE_QUICK=$quick
export XINFER_SERVE_SLOW=$quick
export PYTHONDONTWRITEBYTECODE=1
cd "$here"
exec "$python" -m pytest -p no:cacheprovider -q -rfEsxX "$here" "$@"
