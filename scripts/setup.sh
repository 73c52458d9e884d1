#!/usr/bin/env bash
# Installs the Debian packages gputwin builds with, only those that are missing.
set -euo pipefail

packages=(cmake ninja-build g++ pkg-config libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
          libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev libabsl-dev libsqlite3-dev tzdata
          libgoogle-perftools-dev  # tcmalloc (CMakeLists.txt: GPUTWIN_TCMALLOC)
          libre2-dev   # Go's regular expressions (src/core/go_regexp.h)
          prometheus   # promtool and a server for the round-trip test
          clang libclang-rt-14-dev)  # libFuzzer for the fuzz targets (fuzz/)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
source "$(dirname "$0")/apt-install.sh"
apt_install "${missing[@]}"
