#!/usr/bin/env bash
# Installs the Debian 12 packages xinfer needs to build, test and benchmark (as root, or through sudo).
set -euo pipefail
# Build: cmake g++ make; library: xtensor, xsimd, xtl, nlohmann-json; tests: doctest, the ONNX backend test data and
# python3-onnx (a libprotobuf-based reader to cross-check ours), and for tests/serve/ pytest, requests, PIL, wrk and
# promtool (prometheus); the Python module: pybind11 and Python's headers (python3-dev); benchmarks: Google
# Benchmark; examples: stb; --torch: PyTorch and torchvision, for the Python module's comparison
# (bench/compare/python/);
# fuzzing (--fuzz): clang and its libFuzzer runtime. (scripts/fetch_model.sh installs nodejs and npm itself when
# the commands are missing: some machines carry a Node.js whose package conflicts with Debian's npm.)
packages=(cmake g++ make pkg-config libxtensor-dev libxsimd-dev xtl-dev nlohmann-json3-dev doctest-dev libbenchmark-dev libstb-dev
          libcpp-httplib-dev
          python3-onnx libonnx-testdata python3-numpy
          python3-pytest python3-requests python3-pil prometheus wrk
          pybind11-dev python3-pybind11 python3-dev)
[ "${1:-}" = "--fuzz" ] && packages+=(clang libclang-rt-14-dev)
[ "${1:-}" = "--torch" ] && packages+=(python3-torch python3-torchvision)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
