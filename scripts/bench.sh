#!/usr/bin/env bash
# The scale benchmarks of issue 17: generated platforms (../shared/bench/gen_scale.py) run for
# a simulated month, each printing wall time, CPU time and peak RSS. Figures go into
# docs/performance.md by hand (machine, date, figure); nothing here asserts a time.
#
#   scripts/bench.sh                 the full rows (10,000 nodes take minutes)
#   scripts/bench.sh --short         small platforms, a day each: a smoke run for CI
#   scripts/bench.sh ROW...          only these rows (static-1k static-10k karpenter-1k
#                                    karpenter-10k kueue-week-4; sweep-20 and sweep-200,
#                                    the Karpenter week swept over 20 or 200 points with
#                                    --jobs 1 and 2, run only when named)
#
# Env: GPUTWIN (the binary, default build-rel/gputwin), BENCH_DIR (scratch, default
# build-rel/bench-scale), BENCH_ARGS (extra `gputwin run` flags, e.g. "--detail summary").
set -euo pipefail
cd "$(dirname "$0")/.."
gputwin=${GPUTWIN:-build-rel/gputwin}
dir=${BENCH_DIR:-build-rel/bench-scale}
gen=../shared/bench/gen_scale.py
short=0
rows=()
for a in "$@"; do
  if [[ $a == --short ]]; then short=1; else rows+=("$a"); fi
done
if [[ ! -x $gputwin ]]; then
  echo "bench.sh: $gputwin not found (build it: ninja -C build-rel gputwin)" >&2
  exit 2
fi
if [[ ! -f $gen ]]; then
  echo "bench.sh: skipped: $gen is absent (../shared beside the repository)" >&2
  exit 0
fi
mkdir -p "$dir"

# name nodes pods variant days
if ((short)); then
  table=("static-short 30 1500 static 1" "karpenter-short 20 1000 karpenter 1")
else
  table=("static-1k 1000 100000 static 30" "static-10k 10000 1000000 static 30"
         "karpenter-1k 1000 100000 karpenter 30" "karpenter-10k 10000 1000000 karpenter 30")
fi

printf '%-16s %10s %10s %12s %10s\n' row wall_s cpu_s peak_rss_mb exit
for entry in "${table[@]}"; do
  read -r name nodes pods variant days <<<"$entry"
  if ((${#rows[@]})) && [[ ! " ${rows[*]} " == *" $name "* ]]; then continue; fi
  out="$dir/$name"
  if [[ ! -f $out/scenario.yaml ]]; then
    python3 "$gen" --nodes "$nodes" --pods "$pods" --variant "$variant" --days "$days" \
      --out "$out" 2>/dev/null
  fi
  # GNU time's -f: wall seconds, user+system CPU seconds, peak RSS in KiB.
  set +e
  /usr/bin/time -f '%e %U %S %M' -o "$out/time.txt" \
    "$gputwin" run "$out/scenario.yaml" --out "$out/run" ${BENCH_ARGS:-} >"$out/report.txt" 2>"$out/stderr.txt"
  code=$?
  set -e
  read -r wall user sys rss <"$out/time.txt" || true
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.1f", u+s}')
  printf '%-16s %10s %10s %12d %10s\n' "$name" "$wall" "$cpu" "$((rss / 1024))" "$code"
  # Exit 1 is a failed expectation of the generated scenario (it has none): anything else
  # than 0 is a failure of the run.
  if ((code != 0)); then
    echo "bench.sh: $name exited $code:" >&2
    tail -5 "$out/stderr.txt" >&2
    exit 1
  fi
done
if [[ ${#rows[@]} -eq 0 || " ${rows[*]} " == *" kueue-week-4 "* ]] && ((!short)); then
  bench=build-rel/gputwin_bench
  if [[ -x $bench ]]; then
    /usr/bin/time -f '%e %U %S %M' -o "$dir/kueue.txt" \
      "$bench" --benchmark_filter='BM_KueueWeek/4' >/dev/null 2>&1 || true
    read -r wall user sys rss <"$dir/kueue.txt" || true
    printf '%-16s %10s %10s %12d %10s\n' kueue-week-4 "$wall" \
      "$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.1f", u+s}')" "$((rss / 1024))" 0
  fi
fi
# Sweeps (issue 18): the same sweep with --jobs 1 and --jobs 2; wall and CPU time, the
# speed-up, and the largest run's peak memory (gputwin sweep prints it on stderr).
sweep_rows=()
if ((short)); then
  sweep_rows=("sweep-short tests/sweep/fixture/sweep.yaml")
else
  for r in "${rows[@]}"; do
    case $r in
      sweep-20 | sweep-200) sweep_rows+=("$r bench/sweep/${r}.yaml") ;;
    esac
  done
fi
for entry in "${sweep_rows[@]}"; do
  read -r name file <<<"$entry"
  declare -A wall_of=()
  for jobs in 1 2; do
    out="$dir/$name-j$jobs"
    rm -rf "$out"
    /usr/bin/time -f '%e %U %S %M' -o "$dir/$name-j$jobs.time" \
      "$gputwin" sweep "$file" --jobs "$jobs" --out "$out" >/dev/null 2>"$dir/$name-j$jobs.err" || {
      echo "bench.sh: $name --jobs $jobs failed:" >&2; tail -5 "$dir/$name-j$jobs.err" >&2; exit 1; }
    read -r wall user sys rss <"$dir/$name-j$jobs.time" || true
    wall_of[$jobs]=$wall
    per_run=$(grep -o 'peaked at [0-9]* MiB' "$dir/$name-j$jobs.err" | grep -o '[0-9]*')
    printf '%-16s %10s %10s %12s %10s  --jobs %s\n' "$name" "$wall" \
      "$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.1f", u+s}')" "$per_run" 0 "$jobs"
  done
  cmp -s "$dir/$name-j1/points.csv" "$dir/$name-j2/points.csv" ||
    { echo "bench.sh: $name: --jobs 1 and 2 give different tables" >&2; exit 1; }
  awk -v a="${wall_of[1]}" -v b="${wall_of[2]}" -v n="$name" \
    'BEGIN{printf "%-16s speed-up of --jobs 2 over 1: %.2fx (peak_rss_mb: the largest run)\n", n, a/b}'
done
