#!/usr/bin/env bash
# Checks the dependency direction of docs/architecture.md: a layer includes only itself and the layers before it.
#   config -> core -> kernels -> ops -> graph -> {io, quant, compress, models} -> {model, session, quantize}.hpp
#   -> xinfer.hpp
# Also: optimized kernels never call the reference kernels (only tests do).
set -u
root=${1:?usage: check_layering.sh include/xinfer}
rank() {
  case $1 in
    config.hpp) echo 0 ;; core/*) echo 1 ;; kernels/*) echo 2 ;; ops/*) echo 3 ;; graph/*) echo 4 ;;
    io/*|quant/*|compress/*|models/*) echo 5 ;; model.hpp|session.hpp|quantize.hpp) echo 6 ;; xinfer.hpp|serve/*) echo 7 ;; *) echo 9 ;;
  esac
}
status=0
cd "$root" || exit 2
while IFS= read -r file; do
  file=${file#./}
  from=$(rank "$file")
  while IFS= read -r inc; do
    to=$(rank "$inc")
    if [ "$to" -gt "$from" ]; then
      echo "layering: $file includes $inc (a later layer)"; status=1
    fi
    if [ "$to" -eq 5 ] && [ "$from" -eq 5 ] && [ "${inc%%/*}" != "${file%%/*}" ]; then
      case "$inc" in io/*) ;; *) echo "layering: $file includes $inc (sibling layer)"; status=1 ;; esac
    fi
    case "$file" in kernels/ref/*) ;; kernels/*)
      case "$inc" in kernels/ref/*) echo "layering: $file includes $inc (SIMD kernels must not call ref/)"; status=1 ;; esac ;;
    esac
  done < <(grep -oE '#include "xinfer/[^"]+"' "$file" | sed -E 's/#include "xinfer\/(.*)"/\1/')
done < <(find . -name '*.hpp')
[ $status -eq 0 ] && echo "layering: ok"
exit $status
