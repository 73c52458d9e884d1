#!/usr/bin/env bash
# The npm tools the tests use (package.json: the SARIF validator), from the lockfile;
# Node.js and npm from Debian when the machine has none.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null 2>&1; then
  echo "gputwin: installing nodejs npm" >&2
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
# npm ci only when node_modules is missing or older than the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error </dev/null
fi
# npm may skip the package's postinstall (chmod of the .NET binary): do it here.
chmod u+x node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool 2>/dev/null || true
