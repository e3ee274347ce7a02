#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: builds the package with the CUDA backend for sm_90
# (H100/H200), runs the test suite and the device checks, and prints a short table last.
# The CUDA backend holds device discovery so far; kernels arrive with the CUDA work.
#   bash tools/gpu_check.sh            (no network needed: build isolation is off)
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
python3 -m pip install --no-build-isolation --no-deps -q \
  -C cmake.define.ENGINE_CUDA=ON -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90 . || exit 1
devices=$(cd /tmp && python3 -c "from engine import _core; print(_core.cuda_devices())")
built=$(cd /tmp && python3 -c "from engine import _core; print(_core.has_cuda_build())")
python3 -m pytest -q -x tests/test_core.py tests/test_graph.py tests/test_trainer.py > /tmp/gpu_check_tests.log 2>&1 || status=1
[ "$built" = "True" ] && [ "${devices:-0}" -gt 0 ] || status=1
echo "check                 result"
echo "cuda backend built    $built"
echo "usable cuda devices   ${devices:-0}"
echo "tests                 $(tail -n 1 /tmp/gpu_check_tests.log)"
exit $status
