#!/usr/bin/env bash
# README command 1: install what is missing, build, run the built-in example.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/setup-npm.sh  # the HTML report's chart library (inlined at build time)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGPUTWIN_TESTS=OFF -DGPUTWIN_BENCH=OFF >/dev/null
cmake --build build --target gputwin
./build/gputwin run examples/quickstart/scenario.yaml --out out/quickstart
# The serving example: HPA on CPU versus KEDA on the queue (examples/serving-hpa-vs-keda).
for s in hpa-cpu keda-1m keda-10m; do
  ./build/gputwin run "examples/serving-hpa-vs-keda/scenario-$s.yaml" --out "out/serving-$s" >/dev/null
  echo "serving-hpa-vs-keda/$s: out/serving-$s/summary.json"
done
# Spot interruptions: on-demand base with spot overflow versus all spot.
for s in on-demand-base pure-spot pure-spot-retries; do
  ./build/gputwin run "examples/serving-spot-overflow/scenario-$s.yaml" --out "out/spot-$s" >/dev/null
  echo "serving-spot-overflow/$s: out/spot-$s/summary.json"
done
# Cold starts: where a new replica's minutes go, and the three mitigations.
for s in hub object-storage baked-weights node-image; do
  ./build/gputwin run "examples/serving-cold-start/scenario-$s.yaml" --out "out/cold-start-$s" >/dev/null
  echo "serving-cold-start/$s: out/cold-start-$s/summary.json"
done
# Alert rules over DCGM and kube-state-metrics series: idle notebooks fire GPUUnderutilised.
./build/gputwin run examples/idle-gpu-alert/scenario.yaml --out out/idle-gpu-alert \
  --metrics out/idle-gpu-alert/metrics.om >/dev/null
echo "idle-gpu-alert: out/idle-gpu-alert/summary.json (alerts), out/idle-gpu-alert/metrics.om"
# A sweep: spot share 0 %, 50 % and 100 % of the serving replicas, three seeds each.
./build/gputwin sweep examples/sweep-spot-share/sweep.yaml --out out/sweep-spot-share >/dev/null
echo "sweep-spot-share: out/sweep-spot-share/points.csv"
