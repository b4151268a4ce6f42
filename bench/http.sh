#!/usr/bin/env bash
# HTTP benchmark of the board page and the API's machine list with 200
# machines (bench/web_bench.py; results in docs/benchmarks.md).  Builds first.
# usage: bench/http.sh [--seconds 10] [--connections 50] [--machines 200]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
command -v wrk >/dev/null || { echo "bench/http.sh needs wrk: apt-get install wrk" >&2; exit 1; }
dir=${LB_BUILD_DIR:-build}
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
build "$dir" -DLB_WERROR=ON >/dev/null
LB_BUILD_DIR=$dir exec python3 bench/web_bench.py "$@"
