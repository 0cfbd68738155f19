#!/usr/bin/env bash
# The shared library's interface and the installed package, as an integrator meets them:
# - libxinfer_c.so exports only xinfer_* symbols and carries the ABI version in its soname;
# - `cmake --install` of the build gives a prefix where a C project finds xinfer::c and xinfer::c_static with
#   find_package(xinfer); the README's "From C" example, built there both ways, classifies a photo.
# Usage: package_check.sh LIBXINFER_C BUILD_DIR SOURCE_DIR PHOTO
set -euo pipefail
lib=$1 build=$2 src=$3 photo=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "package_check: $*" >&2; exit 1; }
[ -f "$lib" ] || fail "no library at $lib"

others=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^xinfer_' || true)
[ -z "$others" ] || fail "libxinfer_c exports symbols other than xinfer_*: $(echo "$others" | head -5 | tr '\n' ' ')"
count=$(nm -D --defined-only "$lib" | grep -c ' T xinfer_')
header_count=$(grep -c '^XINFER_C_API ' "$src/include/xinfer/c/xinfer.h")
[ "$count" = "$header_count" ] || fail "libxinfer_c exports $count functions, the header declares $header_count"
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
abi=$(sed -n 's/^#define XINFER_C_ABI_VERSION \([0-9]*\)$/\1/p' "$src/include/xinfer/c/xinfer.h")
[ "$soname" = "libxinfer_c.so.$abi" ] || fail "soname '$soname', expected libxinfer_c.so.$abi"

cmake --install "$build" --prefix "$work/prefix" >/dev/null
mkdir -p "$work/consumer"
cp "$src/tests/c_api/consumer/CMakeLists.txt" "$work/consumer/"
# The README's example: the first ```c block after the "## From C" heading.
awk '/^## From C/ {section = 1} section && /^```c$/ {inside = 1; next} inside && /^```$/ {exit} inside' \
  "$src/README.md" > "$work/consumer/example.c"
[ -s "$work/consumer/example.c" ] || fail "no \`\`\`c block under '## From C' in README.md"
cmake -S "$work/consumer" -B "$work/consumer/build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer/build" >/dev/null
for kind in c c_static; do
  out=$("$work/consumer/build/example_$kind" "builtin:mobilenet_v2?alpha=0.35&size=96" "$photo")
  echo "example_$kind: $out"
  [ "$(echo "$out" | grep -c '^class [0-9]* 0\.[0-9]*$')" = 3 ] || fail "example_$kind printed: $out"
done
# (ldd's output in variables: `ldd | grep -q` can fail under pipefail when grep exits before ldd has written all)
static_libs=$(ldd "$work/consumer/build/example_c_static")
shared_libs=$(ldd "$work/consumer/build/example_c")
case "$static_libs" in *libxinfer_c*) fail "example_c_static links libxinfer_c.so" ;; esac
case "$shared_libs" in *"libxinfer_c.so.$abi"*) ;; *) fail "example_c does not link libxinfer_c.so.$abi" ;; esac
echo "package_check: ok ($count functions, soname $soname)"
