#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: builds the package with the CUDA plugin for sm_90
# (H100/H200) without network access, then checks the CUDA backend against the CPU:
#   - the op-case table on CUDA vs the CPU kernels (forward and backward, poisoned outputs),
#   - tests/test_cuda.py (CPU/CUDA training trajectories of every optimizer, the digits CNN
#     trained on CUDA, ONNX export vs onnxruntime, out-of-memory, own GEMM vs cuBLAS),
#   - data-parallel training of two MPI ranks on the GPU (tests/test_distributed.py -k gpu),
#   - the CUDA benchmark (benchmarks/cuda.py),
# and prints a short table last. Logs go to $OUT (or build/gpu_check) .
#   bash tools/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
logs=${OUT:-build/gpu_check}
mkdir -p "$logs"
started=$(date +%s)
status=0
row() { printf '%-34s %s\n' "$1" "$2" >> "$logs/table.txt"; }
: > "$logs/table.txt"

diag="$logs/diagnostics.txt"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$diag" 2>&1
row "gpu" "$(head -n 1 "$diag")"

# C++ exceptions cross shared libraries (libengine throws, the extension catches): a
# compiler that links libstdc++ statically into each of them breaks that. Prefer one whose
# programs load the shared libstdc++.
compiler=""
for cxx in "${CXX:-}" g++ /usr/bin/g++ c++; do
  [ -n "$cxx" ] && command -v "$cxx" > /dev/null 2>&1 || continue
  printf '#include <stdexcept>\nint main(int n, char**) { try { if (n > 5) throw std::runtime_error("x"); } catch (...) {} }\n' |
    "$cxx" -x c++ - -o /tmp/gpu_check_cxx 2>/dev/null || continue
  echo "$cxx: $("$cxx" --version | head -n 1); $(ldd /tmp/gpu_check_cxx | grep -c libstdc++) shared libstdc++" >> "$diag"
  if [ -z "$compiler" ] && ldd /tmp/gpu_check_cxx | grep -q libstdc++; then compiler=$(command -v "$cxx"); fi
done
compiler_args=()
if [ -n "$compiler" ]; then
  compiler_args=(-C "cmake.define.CMAKE_CXX_COMPILER=$compiler" -C "cmake.define.CMAKE_CUDA_HOST_COMPILER=$compiler")
fi
row "host compiler" "${compiler:-default (no shared-libstdc++ compiler found)}"

if python3 -m pip install --no-build-isolation --no-deps -v \
     -C cmake.define.ENGINE_CUDA=ON -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90 \
     "${compiler_args[@]}" -C "build-dir=build/gpu-wheel-$(basename "${compiler:-default}")" . > "$logs/build.log" 2>&1; then
  row "build (sm_90)" "ok, $(( $(date +%s) - started )) s"
else
  row "build (sm_90)" "FAILED (build.log)"
  tail -n 60 "$logs/build.log"
  cat "$logs/table.txt"
  exit 1
fi

# From /tmp, so that the installed package (with its plugin) is imported, not the sources.
here=$PWD
(cd /tmp && python3 -c "
import engine
print(engine.cuda.is_available(), engine.cuda.device_count(), repr(engine.cuda.unavailable_reason()))
try:
    engine.cuda.set_gemm('cublas'); print('cublas', engine.cuda.gemm())
except Exception as e:
    print('cublas unavailable:', e)
engine.cuda.set_gemm('auto')
") > "$logs/available.txt" 2>&1
cat "$logs/available.txt" >> "$diag"
# Errors must surface as Python exceptions with this compiler and runtime too.
(cd /tmp && python3 -c "
import numpy as np
from engine import _core
try:
    _core.run_op('Softmax', [np.ones((2, 3), np.float32)], {'axis': 5})
    print('no error raised')
except ValueError:
    print('ValueError')
") > /tmp/gpu_check_errors.txt 2>&1
echo "exit $?" >> /tmp/gpu_check_errors.txt
row "engine errors become exceptions" "$(head -n 1 /tmp/gpu_check_errors.txt | cut -c1-60) ($(tail -n 1 /tmp/gpu_check_errors.txt))"
package=$(cd /tmp && python3 -c "import engine, os; print(os.path.dirname(engine.__file__))")
ldd "$package"/libengine*.so* "$package"/_core*.so >> "$diag" 2>&1
row "cuda available, devices" "$(head -n 1 "$logs/available.txt")"
row "cublas" "$(sed -n 2p "$logs/available.txt")"
grep -q "^True" "$logs/available.txt" || status=1
rm -f "$logs/available.txt"

run_tests() {  # name, log, pytest arguments...
  local name=$1 log=$2
  shift 2
  (cd /tmp && timeout "${GPU_CHECK_TEST_TIMEOUT:-300}" python3 -m pytest -q -p no:cacheprovider -o addopts="" \
     --rootdir "$here" "$@") > "$logs/$log" 2>&1 || status=1
  row "$name" "$(tail -n 1 "$logs/$log")"
}
# pytest-xdist, where installed, spreads the op-case table over the cores.
parallel=$(python3 -c "import xdist" 2>/dev/null && echo "-n 8")
run_tests "op-case table, cuda vs cpu" op_cases.log \
  "$here/tests/test_op_cases.py" -k "cuda and not emulated" $parallel
run_tests "tests/test_cuda.py" test_cuda.log "$here/tests/test_cuda.py" -rs $parallel
# Two MPI ranks on the GPU (skipped, with the reason, where mpi4py or mpiexec is missing).
run_tests "data-parallel on the GPU" distributed.log "$here/tests/test_distributed.py" -k gpu -rs

if (cd /tmp && timeout 120 python3 "$here/benchmarks/cuda.py" ${GPU_CHECK_BENCH_ARGS:---quick}) > "$logs/bench.txt" 2>&1; then
  row "benchmark" "benchmarks/cuda.py (bench.txt)"
else
  row "benchmark" "FAILED (bench.txt)"
  status=1
fi

row "total time" "$(( $(date +%s) - started )) s"
echo "== benchmark =="
cat "$logs/bench.txt"
echo "== failures (if any) =="
grep -h -E "^(FAILED|ERROR)" "$logs/op_cases.log" "$logs/test_cuda.log" "$logs/distributed.log" | head -n 30
echo "== gpu check =="
cat "$logs/table.txt"
exit $status
