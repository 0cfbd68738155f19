#!/bin/sh
# Runs the Python module's tests with Debian's python3 (numpy, pytest). Usage:
#   tests/python/run.sh [MODULE_DIR] [pytest arguments...]
# MODULE_DIR holds the built module (default: $XINFER_PYTHON_DIR, else build-tests/python); the shared data comes
# from $XINFER_SHARED_DATA (default ../shared/data beside the repository; tests that need it skip without it).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [ $# -gt 0 ] && [ -d "$1" ]; then
    XINFER_PYTHON_DIR=$(cd "$1" && pwd)
    shift
fi
export XINFER_PYTHON_DIR="${XINFER_PYTHON_DIR:-$repo/build-tests/python}"
export PYTHONDONTWRITEBYTECODE=1  # keep the source tree clean
python=${XINFER_TEST_PYTHON:-/usr/bin/python3}
[ -x "$python" ] || python=python3
cd "$repo"
exec "$python" -m pytest -q -p no:cacheprovider "$here" "$@"
