#!/usr/bin/env bash
# README command 2: install what is missing, build with -Werror and ASan+UBSan, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each phase's wall time, printed at the end: the whole run must stay under 15 minutes on 2
# cores (docs/performance.md, CI time).
phases=()
phase() { phases+=("$1 $((SECONDS - phase_start)) s"); phase_start=$SECONDS; }
phase_start=$SECONDS
trap 'printf "test.sh phases: %s\n" "${phases[*]/%/;}" >&2' EXIT
scripts/setup.sh
scripts/setup-npm.sh --browser  # uPlot, the SARIF validators, puppeteer-core and Chromium
# -O1 and line tables only: the sanitized tests run in seconds, and the build (the long
# part on 2 cores) is faster than at -O2 -g. Benchmarks are not built here.
# Unity build (see README): headers compiled once per 8 files; build CPU ~2,500 s -> ~1,150 s.
# clang (installed for libFuzzer anyway) compiles these sanitized batches in 25-40 % less time
# than GCC; the Release build (scripts/quickstart.sh, benchmarks) stays on GCC.
cmake -S . -B build-asan -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPUTWIN_WERROR=ON \
  -DGPUTWIN_SANITIZE=ON -DGPUTWIN_BENCH=OFF -DGPUTWIN_PCH=ON "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
  -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8 >/dev/null
phase setup
cmake --build build-asan
phase build
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j "$(nproc)"
phase ctest
# The libFuzzer smoke (fuzz/README.md): 60 s per target, two at a time; any crash, sanitizer
# report, leak, timeout or out-of-memory fails the run. scripts/fuzz.sh alone runs an hour each.
GPUTWIN_FUZZ_JOBS=2 scripts/fuzz.sh 60
phase fuzz
# The container image (Dockerfile), as a plain build check, where a Docker daemon answers.
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  docker build -q -t gputwin:ci . >/dev/null && echo "docker: the image builds"
else
  echo "docker: no Docker daemon here; the image build check is skipped"
fi
