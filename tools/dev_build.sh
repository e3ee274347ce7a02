#!/usr/bin/env bash
# Incremental developer build without pip. Builds libengine, the extension and the C++
# tests into a build folder (default build/dev) and lays out an importable package there:
#   tools/dev_build.sh [BUILD_DIR] && PYTHONPATH=build/dev/python python -m pytest tests
# Re-run after any change; ninja and ccache rebuild only what changed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(realpath -m "${1:-$root/build/dev}")
mkdir -p "$dir"
cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DENGINE_PYTHON=ON \
      -DENGINE_BUILD_TESTS=ON -DENGINE_CUDA="${ENGINE_CUDA:-OFF}" > "$dir.configure.log" 2>&1 \
  || { cat "$dir.configure.log"; exit 1; }
cmake --build "$dir"
pkg="$dir/python/engine"
rm -rf "$pkg"
mkdir -p "$pkg"
for entry in "$root"/engine/*; do
  ln -s "$entry" "$pkg/$(basename "$entry")"
done
ln -s "$dir"/bindings/_core*.so "$pkg/"
echo "built: PYTHONPATH=$dir/python"
