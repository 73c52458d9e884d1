#!/usr/bin/env bash
# The npm packages (package.json: uPlot for the HTML report, the SARIF validators,
# puppeteer-core for the browser test), from the lockfile;
# Node.js and npm from Debian when the machine has none.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian's packages: Node.js and npm when the machine has none; with --browser, Chromium
# for the HTML report's browser test.
missing=()
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null 2>&1; then missing+=(chromium); fi
source scripts/apt-install.sh
apt_install "${missing[@]}"
# npm ci only when node_modules is missing or older than the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error </dev/null
fi
# npm may skip the package's postinstall (chmod of the .NET binary): do it here.
chmod u+x node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool 2>/dev/null || true
