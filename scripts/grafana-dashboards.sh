#!/usr/bin/env bash
# Puts NVIDIA's DCGM exporter dashboard (Grafana 12239) next to gputwin's in
# grafana/dashboards/, for the provisioning in grafana/provisioning. It is not kept in the
# repository: taken from ../shared/data when present, else downloaded from grafana.com.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/grafana/dashboards/dcgm-exporter.json
shared=$root/../shared/data/dcgm-exporter/dcgm-exporter-dashboard.json
tmp=$(mktemp "$dest.XXXXXX")
trap 'rm -f "$tmp"' EXIT
if [ -f "$shared" ]; then
  cp "$shared" "$tmp"
else
  curl -fsSL https://grafana.com/api/dashboards/12239/revisions/latest/download -o "$tmp"
fi
mv "$tmp" "$dest"
trap - EXIT
echo "wrote $dest"
