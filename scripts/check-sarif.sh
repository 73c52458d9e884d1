#!/usr/bin/env bash
# Lints the lint cases and the upstream examples to SARIF with GPUTWIN and validates each
# file twice: against the official SARIF 2.1.0 JSON schema (ajv, sarif-schema-check.mjs)
# and with Microsoft's SARIF Multitool (the SARIF SDK's validation rules).
# Usage: check-sarif.sh GPUTWIN_BINARY
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
gputwin=$1
tool="$root/node_modules/.bin/sarif-multitool"
if [ ! -x "$tool" ]; then
  echo "SKIP: $tool missing (scripts/setup-npm.sh installs it)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/validator"
fail=0
n=0
check() {  # name, lint arguments...
  local name=$1; shift
  (cd "$root" && "$gputwin" lint --format sarif --fail-on error --output "$work/$name.sarif" "$@" >/dev/null)
  local rc=$?
  if [ $rc -gt 1 ]; then echo "FAIL: gputwin lint $* exited $rc"; fail=1; return; fi
  n=$((n + 1))
}
for f in "$root"/tests/lint/cases/*.yaml; do check "case-$(basename "$f" .yaml)" "$f"; done
# Relative paths (uriBaseId %SRCROOT%) and the upstream examples in one run.
check realworld tests/realworld/kubernetes/job-pi.yaml tests/realworld/kubernetes/pod-level-resources.yaml \
  tests/realworld/kueue/pod-group.yaml tests/realworld/karpenter/bp-gpu-nodepool.yaml
# One validator run over every file (its start-up is most of its time). Its log has a line
# `FILE(LINE,COL): error|warning SARIFnnnn: ...` per finding: any is a defect. (Its own
# SARIF log leaves `level` out for warnings, the default, so the log is what is read.)
if ! "$tool" validate "$work"/*.sarif --output "$work/validator/all.sarif" >"$work/validator/all.log" 2>&1; then
  echo "FAIL: the validator failed"; cat "$work/validator/all.log"; fail=1
elif grep -qE ': (error|warning) [A-Z]+[0-9]+: ' "$work/validator/all.log"; then
  echo "FAIL: some SARIF files do not validate:"
  grep -E ': (error|warning) [A-Z]+[0-9]+: ' "$work/validator/all.log"; fail=1
fi
if ! node "$root/scripts/sarif-schema-check.mjs" "$work"/*.sarif; then fail=1; fi
[ $fail = 0 ] && echo "OK: $n SARIF files validate (schema and SARIF rules)"
exit $fail
