#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang) and runs each for SECONDS_PER_TARGET (default an
# hour), JOBS targets at a time (default 1), niced. Fails on any crash, sanitizer report, leak,
# timeout (-timeout=10, GPUTWIN_FUZZ_TIMEOUT) or out-of-memory (-rss_limit_mb=2048); the reproducer is written to
# build-fuzz/artifacts/<target>/ and its name printed.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     targets: yaml scenario quantity
#                                                        duration csv promql model_config
#                                                        alert_template
#                                                        (default all)
# Environment: GPUTWIN_FUZZ_JOBS (targets in parallel), GPUTWIN_FUZZ_BUILD (build folder),
# GPUTWIN_FUZZ_TIMEOUT (seconds per input; libFuzzer counts wall time, so a long run beside
# a build, where the niced fuzzer gets little CPU, needs more than 10).
# The corpus grows in build-fuzz/corpus-work/<target>/ from run to run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(yaml scenario quantity duration csv promql model_config alert_template)
jobs=${GPUTWIN_FUZZ_JOBS:-1}
timeout=${GPUTWIN_FUZZ_TIMEOUT:-10}
build=${GPUTWIN_FUZZ_BUILD:-build-fuzz}

# A unity build, as the sanitized tests' (README): 73 s instead of 107 s on 2 cores.
cmake -S fuzz -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_UNITY_BUILD=ON \
  -DCMAKE_UNITY_BUILD_BATCH_SIZE=8 >/dev/null
nice -n 15 cmake --build "$build" -j "$jobs"
rm -rf "$build/corpus"
scripts/fuzz-corpus.sh "$build/corpus" >/dev/null

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run_one() {
  local t=$1 work="$build/corpus-work/$1" art="$build/artifacts/$1" log="$build/fuzz-$1.log"
  mkdir -p "$work" "$art"
  local extra=()
  case $t in
    yaml | scenario) extra=(-max_len=65536) ;;
    csv) extra=(-max_len=16384) ;;
    model_config) extra=(-max_len=8192 -dict=fuzz/model_config.dict) ;;
  esac
  local start=$SECONDS
  # The seeds are read, the new inputs kept in $work; stdin closed (CI has none). One worker,
  # in process: -jobs/-workers would fork children logging to ./fuzz-N.log instead.
  if nice -n 15 "$build/fuzz_$t" -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$art/" "${extra[@]}" \
      "$work" "$build/corpus/$t" </dev/null >"$log" 2>&1; then
    echo "fuzz $t: ok, $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" |
      grep -o '[0-9]*$') runs in $((SECONDS - start)) s"
  else
    echo "fuzz $t: FAILED after $((SECONDS - start)) s; reproducer:" \
      "$(ls -t "$art" 2>/dev/null | head -1 | sed "s|^|$art/|"); log: $log" >&2
    grep -m5 -E 'ERROR|runtime error|SUMMARY|InputError without|round trip|parsed as|refused' \
      "$log" >&2 || tail -n 20 "$log" >&2
    return 1
  fi
}

failed=0
pids=()
for t in "${targets[@]}"; do
  if [ ! -x "$build/fuzz_$t" ]; then echo "fuzz: no target $t" >&2; exit 2; fi
  run_one "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
exit $failed
