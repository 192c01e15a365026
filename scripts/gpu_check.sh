#!/usr/bin/env bash
# One short check of axoncl on a machine with an NVIDIA GPU; it runs on a CPU-only machine too
# (PoCL, opencl:cpu), saying which GPU parts it skipped. Steps, each logged and timed, each
# continuing when an earlier one failed:
#   env      nvidia-smi, clinfo, Python and package versions
#   icd      registers NVIDIA's OpenCL ICD (/etc/OpenCL/vendors/nvidia.icd) when the driver
#            ships libnvidia-opencl.so but no .icd file names it
#   install  `pip install -e .[test]` when pyopencl or pytest is missing; torch when absent
#   info     python3 -m axoncl info
#   tests    AXONCL_DEVICE=<device> python3 -m pytest -q tests/backends/opencl (-n 8 with
#            pytest-xdist, GPU_CHECK_WORKERS to change)
#   gemm     benchmarks/gemm.py against numpy and PyTorch (CUDA when torch sees the GPU)
#   train    benchmarks/train_step.py, MLP, CNN and ResNet-8, against PyTorch (CUDA likewise)
# Everything goes to one folder: gpu-check-results/<UTC date>/ (or $GPU_CHECK_OUT), with one log
# per step, the benchmarks' JSON and PNG files, and summary.json / summary.txt (each step's exit
# status: 0 ok, 124 timed out, "skipped" with the reason). The whole run stays within
# $GPU_CHECK_BUDGET_S seconds (default 480): each step gets at most its own limit and what is
# left of the budget. The script's own exit status is the number of failed steps (0: all fine).
#
#   bash scripts/gpu_check.sh                        # from anywhere; runs in the checkout
#   GPU_CHECK_OUT=/tmp/check bash scripts/gpu_check.sh
#   GPU_CHECK_INSTALL=0 bash scripts/gpu_check.sh    # never call pip (offline machines)
set -u
cd "$(dirname "$0")/.."
REPO=$(pwd)
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
RES=${GPU_CHECK_OUT:-$REPO/gpu-check-results/$STAMP}
BUDGET=${GPU_CHECK_BUDGET_S:-480}
INSTALL=${GPU_CHECK_INSTALL:-1}
PY=${PYTHON:-python3}
mkdir -p "$RES"
export RES PY
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$RES/pocl-cache}
START=$(date +%s)
FAILED=0
: >"$RES/steps.tsv"

note() { echo "[gpu_check] $*" | tee -a "$RES/summary.txt"; }

# step NAME MAX_SECONDS COMMAND...: runs COMMAND under `timeout`, output in NAME.log.
step() {
  local name=$1 max=$2
  shift 2
  local left=$((BUDGET - ($(date +%s) - START)))
  local limit=$((max < left ? max : left))
  if [ "$limit" -lt 10 ]; then
    skip "$name" "out of time (budget ${BUDGET}s)"
    return
  fi
  local t0 rc
  t0=$(date +%s)
  echo "\$ $*" >"$RES/$name.log"
  timeout --kill-after=10 "$limit" "$@" >>"$RES/$name.log" 2>&1
  rc=$?
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$(($(date +%s) - t0))" "limit ${limit}s" >>"$RES/steps.tsv"
  [ "$rc" -ne 0 ] && FAILED=$((FAILED + 1))
  note "$name: exit $rc after $(($(date +%s) - t0))s (limit ${limit}s; log $name.log)"
}

skip() {
  printf '%s\tskipped\t0\t%s\n' "$1" "$2" >>"$RES/steps.tsv"
  note "$1: skipped: $2"
}

note "results in $RES; budget ${BUDGET}s"

# env: what the machine has.
env_report() {
  date -u
  uname -a
  if command -v nvidia-smi >/dev/null; then nvidia-smi; else echo "nvidia-smi: not found"; fi
  if command -v clinfo >/dev/null; then clinfo -l; else echo "clinfo: not found"; fi
  ls -l /etc/OpenCL/vendors 2>&1
  "$PY" --version
  "$PY" -m pip list 2>/dev/null | grep -i -E '^(numpy|pyopencl|torch|pytest|reikna|pyclblast|tinygrad) '
}
export -f env_report
step env 30 bash -c env_report

# icd: the NVIDIA driver ships libnvidia-opencl.so.1, but containers often lack the .icd file
# that tells the ICD loader about it. Written to /etc/OpenCL/vendors when we may, else to a
# vendors folder of our own, given to the loader through OCL_ICD_VENDORS with the others.
register_icd() {
  local lib
  lib=$( (ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so/ {print $NF}'
    find /usr/lib /usr/lib64 /usr/local/nvidia /usr/local/cuda* -name 'libnvidia-opencl.so*' \
      2>/dev/null) | head -n 1)
  if [ -z "$lib" ]; then
    echo "no libnvidia-opencl.so* on this machine: no NVIDIA OpenCL driver to register"
    return 0
  fi
  echo "NVIDIA OpenCL library: $lib"
  if grep -l -s libnvidia-opencl /etc/OpenCL/vendors/*.icd; then
    echo "already registered"
    return 0
  fi
  if mkdir -p /etc/OpenCL/vendors 2>/dev/null && echo "$lib" >/etc/OpenCL/vendors/nvidia.icd; then
    echo "wrote /etc/OpenCL/vendors/nvidia.icd"
    return 0
  fi
  mkdir -p "$RES/vendors"
  cp /etc/OpenCL/vendors/*.icd "$RES/vendors/" 2>/dev/null
  echo "$lib" >"$RES/vendors/nvidia.icd"
  echo "no write access to /etc/OpenCL/vendors; using OCL_ICD_VENDORS=$RES/vendors"
}
export -f register_icd
step icd 20 bash -c register_icd
[ -f "$RES/vendors/nvidia.icd" ] && export OCL_ICD_VENDORS="$RES/vendors"

# install: only what is missing, and never a long wait on an unreachable index.
install_missing() {
  local pip=("$PY" -m pip install -q --disable-pip-version-check --timeout 20 --retries 1)
  if ! "$PY" -c "import pyopencl, pytest, numpy" 2>/dev/null; then
    "${pip[@]}" -e ".[test]" || return 1
  fi
  if ! "$PY" -c "import torch" 2>/dev/null; then
    # PyPI's default torch is the CUDA build: right for a GPU machine, gigabytes for nothing
    # on a CPU one, where the PyTorch columns are skipped instead.
    if command -v nvidia-smi >/dev/null; then
      "${pip[@]}" torch || return 1
    else
      echo "torch missing and no NVIDIA driver: not installing it; PyTorch columns are skipped"
    fi
  fi
  "$PY" -c "import pyopencl; print('pyopencl', pyopencl.VERSION_TEXT)"
}
if [ "$INSTALL" = "1" ]; then
  export -f install_missing
  step install 150 bash -c install_missing
else
  skip install "GPU_CHECK_INSTALL=0"
fi

step info 60 "$PY" -m axoncl info

# The OpenCL device: the GPU when axoncl finds one, else the CPU (PoCL).
DEVICE=opencl:gpu
if ! "$PY" -c "from axoncl.backends.opencl.device import get_device; get_device('opencl:gpu')" \
  >"$RES/device-probe.log" 2>&1; then
  DEVICE=opencl:cpu
  note "no OpenCL GPU device (device-probe.log): the OpenCL steps use $DEVICE instead"
fi
TORCH_DEVICE=cpu
if "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  TORCH_DEVICE=cuda
else
  note "torch sees no CUDA GPU (or is missing): PyTorch columns run on the CPU"
fi
note "OpenCL device $DEVICE, torch device $TORCH_DEVICE"

export AXONCL_DEVICE=$DEVICE
# Spread over several processes when pytest-xdist is there: a fresh machine compiles every
# program once per process, and the GPU driver's compiler runs on the host's cores.
WORKERS=()
if "$PY" -c "import xdist" 2>/dev/null; then
  WORKERS=(-n "${GPU_CHECK_WORKERS:-8}")
fi
step tests 200 "$PY" -m pytest -v -p no:cacheprovider -rfEs "${WORKERS[@]}" tests/backends/opencl

# Benchmarks: fewer shapes and rounds than a full run, sized to the budget (a CPU, where
# ResNet-8 takes ~1.5 s a step, gets fewer still).
if [ "$DEVICE" = opencl:gpu ]; then
  SHAPES=1024,2048,4096,4096x256x256,12544x288x64
  STEPS=(--frameworks opencl,capture,torch --rounds 7 --steps 3)
else
  SHAPES=512,1024,4096x256x256
  STEPS=(--frameworks opencl,torch --rounds 7 --steps 1 --settle 0)
fi
step gemm 90 "$PY" benchmarks/gemm.py --device "$DEVICE" --torch-device "$TORCH_DEVICE" \
  --libs axoncl,numpy,clblast,torch --shapes "$SHAPES" --rounds 5 --budget 1 --out "$RES/gemm"
step train 240 "$PY" benchmarks/train_step.py --device "$DEVICE" --torch-device "$TORCH_DEVICE" \
  --models mlp,cnn,resnet "${STEPS[@]}" --out "$RES/train"

"$PY" - "$RES" "$DEVICE" "$TORCH_DEVICE" "$(($(date +%s) - START))" <<'EOF'
import json, sys
from pathlib import Path

res, device, torch_device, seconds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
steps = []
for line in Path(res, "steps.tsv").read_text().splitlines():
    name, status, took, detail = line.split("\t")
    ran = status.lstrip("-").isdigit()
    steps.append({"step": name, "exit": int(status) if ran else status, "seconds": int(took),
                  "detail": detail, "log": f"{name}.log" if ran else None})
summary = {"opencl_device": device, "torch_device": torch_device, "seconds": seconds,
           "steps": steps}
Path(res, "summary.json").write_text(json.dumps(summary, indent=2))
EOF
note "done in $(($(date +%s) - START))s; $FAILED step(s) failed; summary.json in $RES"
exit "$FAILED"
