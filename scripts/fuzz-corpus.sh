#!/usr/bin/env bash
# Seed corpora for the fuzz targets (fuzz/README.md), generated from the repository's own
# examples, tests, Grafana dashboard and docs into CORPUS_DIR/<target>/, plus the
# hand-written seeds in fuzz/seeds/. Nothing from ../shared is copied.
#   scripts/fuzz-corpus.sh CORPUS_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/fuzz-corpus.sh CORPUS_DIR}
targets=(yaml scenario quantity duration csv promql model_config alert_template)
for t in "${targets[@]}"; do mkdir -p "$out/$t"; done

yaml_files=$(find examples tests grafana/provisioning -name '*.yaml' -o -name '*.yml' | sort)

# YAML: each document of each file on its own (small seeds mutate faster), and the whole
# file when it has several (the walker over documents and Lists).
perl -e '
  my ($dir, @files) = @ARGV;
  my $n = 0;
  for my $f (@files) {
    open(my $in, "<", $f) or next;
    local $/; my $text = <$in>; close $in;
    my @docs = grep { /\S/ } split(/^---[^\n]*\n/m, $text);
    for my $d (@docs, @docs > 1 ? ($text) : ()) {
      next if length($d) > 65536;
      open(my $o, ">", sprintf("%s/%05d.yaml", $dir, $n++)) or die; print $o $d; close $o;
    }
  }' "$out/yaml" $yaml_files

# Scenarios: the files holding one, whole.
for f in $(grep -l '^kind: Scenario' $yaml_files); do
  cp "$f" "$out/scenario/$(echo "$f" | tr / _)"
done

# CSV: the traces and arrival files of tests and examples, and the head of each catalog.
for f in $(find examples tests -name '*.csv' | sort); do
  head -c 65536 "$f" >"$out/csv/$(echo "$f" | tr / _)"
done
for f in data/catalog/*.csv; do head -n 20 "$f" >"$out/csv/$(basename "$f")"; done

# Quantities and durations: every plain scalar value of the YAML files that looks like one.
perl -ne '
  BEGIN { ($qdir, $ddir) = splice(@ARGV, 0, 2); }
  next unless /:\s+["\x27]?([-+]?[0-9.][0-9.]*[A-Za-z0-9.+-]*)["\x27]?\s*$/;
  my $v = $1;
  if ($v =~ /^[-+]?[0-9.]+(?:[eE][-+]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$/ && !$q{$v}++) {
    open(my $o, ">", "$qdir/y" . scalar(keys %q)) or die; print $o $v; close $o;
  }
  if ($v =~ /^[-+]?(?:[0-9.]+(?:ns|us|ms|s|m|h))+$/ && !$d{$v}++) {
    open(my $o, ">", "$ddir/y" . scalar(keys %d)) or die; print $o $v; close $o;
  }' "$out/quantity" "$out/duration" $yaml_files

# PromQL: rule and trigger expressions of the YAML files, the dashboard's panel queries, and
# the string literals of the PromQL and rule tests.
perl -e '
  my ($dir, @files) = @ARGV;
  my (%seen, $n);
  my $emit = sub {
    my $e = shift; $e =~ s/^\s+|\s+$//g;
    return if $e eq "" || $seen{$e}++;
    open(my $o, ">", "$dir/" . $n++) or die; print $o $e; close $o;
  };
  for my $f (@files) {
    open(my $in, "<", $f) or next;
    local $/; my $text = <$in>; close $in;
    if ($f =~ /\.ya?ml$/) {
      $emit->($2) while $text =~ /^\s*(expr|query):\s*(?!\|)(.+)$/mg;
      $emit->($1) while $text =~ /^\s*(?:expr|query):\s*\|\n((?:\s{6,}.+\n)+)/mg;
    } elsif ($f =~ /\.json$/) {
      while ($text =~ /"expr":\s*"((?:[^"\\]|\\.)*)"/g) { (my $e = $1) =~ s/\\(.)/$1/g; $emit->($e); }
    } else {
      while ($text =~ /"((?:[^"\\\n]|\\.){1,400})"/g) {
        (my $e = $1) =~ s/\\(.)/$1/g;
        $emit->($e) if $e =~ /[a-z_:]\(|[a-z_:]\{|\[\d+[smhd]\]|^[a-z_:][a-z0-9_:]*$/i;
      }
    }
  }' "$out/promql" $yaml_files grafana/dashboards/*.json \
  tests/telemetry/promql_test.cc tests/prometheus/*.cc tests/telemetry/prometheus_roundtrip_test.cc

# Alert templates: every YAML value holding a {{ action }} (rules' labels and annotations).
perl -ne '
  BEGIN { $dir = shift @ARGV; }
  next unless /:\s*["\x27]?(.*\{\{.*\}\}.*?)["\x27]?\s*$/;
  next if $seen{$1}++;
  open(my $o, ">", "$dir/y" . scalar(keys %seen)) or die; print $o $1; close $o;
  ' "$out/alert_template" $yaml_files

# Hand-written seeds.
for t in "${targets[@]}"; do
  if [ -d "fuzz/seeds/$t" ]; then cp fuzz/seeds/$t/* "$out/$t/"; fi
done

for t in "${targets[@]}"; do
  echo "fuzz corpus $t: $(ls "$out/$t" | wc -l) seeds"
done
