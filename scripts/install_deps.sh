#!/usr/bin/env bash
# Installs the Debian packages Ouroboros needs to build, test and reproduce, when they are missing.
# As root it installs them; otherwise it lists what is missing and fails.
# Usage: scripts/install_deps.sh [extra-package ...]
set -euo pipefail
packages=(cmake ninja-build g++ libxtensor-dev libxtensor-blas-dev libfmt-dev catch2 libcli11-dev
          nlohmann-json3-dev libopenblas-dev zlib1g-dev valgrind git openmpi-bin
          libopenmpi-dev procps gnuplot-nox python3 python3-dev pybind11-dev python3-pybind11
          python3-numpy python3-pytest python3-pandas python3-matplotlib "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
