#!/usr/bin/env bash
# Runs tests/march_bound.cpp built for the baseline (BASE) and with -march=native (NATIVE) and
# compares their outputs (see the program's comment).   march_bound.sh BASE NATIVE WORK_DIR
set -euo pipefail
mkdir -p "$3"
"$1" >"$3/base.txt"
"$2" >"$3/native.txt"
"$1" --compare "$3/base.txt" "$3/native.txt"
