#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine: the PoCL OpenCL runtime (CPU device),
# oclgrind (kernel checker), Graphviz (optional layout engine of the inspector), Chromium and its
# driver (the inspector's page is tested in a headless browser), and axoncl with its test,
# distributed (mpi4py, MPICH's mpiexec) and docs (mkdocs-material, mkdocstrings-python) extras.
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
dpkg -s pocl-opencl-icd >/dev/null 2>&1 || need_apt+=(pocl-opencl-icd)
dpkg -s ocl-icd-libopencl1 >/dev/null 2>&1 || need_apt+=(ocl-icd-libopencl1)
dpkg -s oclgrind >/dev/null 2>&1 || need_apt+=(oclgrind)
dpkg -s clinfo >/dev/null 2>&1 || need_apt+=(clinfo)
dpkg -s graphviz >/dev/null 2>&1 || need_apt+=(graphviz)  # optional: the inspector's layout
dpkg -s chromium >/dev/null 2>&1 || need_apt+=(chromium)  # the inspector's browser test
dpkg -s chromium-driver >/dev/null 2>&1 || need_apt+=(chromium-driver)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}"
fi

python3 -m pip install -q --disable-pip-version-check -e ".[test,distributed,docs]"
