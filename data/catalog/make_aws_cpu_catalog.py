#!/usr/bin/env python3
"""Build aws-cpu-instance-types.csv from Karpenter's AWS provider sources.

Inputs (both from a checkout / git snapshot of aws/karpenter-provider-aws):
  * website/content/en/docs/reference/instance-types.md  (generated docs: labels + Resources)
  * pkg/providers/pricing/zz_generated.pricing_aws.go     (initial on-demand prices, us-east-1)

Usage:
  python3 make_aws_cpu_catalog.py --repo KARPENTER_PROVIDER_AWS_GIT_DIR \
      [--rev HEAD] [--west2-as-east1] [--out aws-cpu-instance-types.csv]
  or give --md FILE --go FILE to read plain files instead of a git dir.

Optional: --west2 FILE, a CSV "instance_type,price" of us-west-2 on-demand Linux prices from a
public source; without it od_price_us_west_2 stays empty (the Go file only has us-east-1).
"""
import argparse
import csv
import re
import subprocess
import sys
from decimal import Decimal

MD_PATH = "website/content/en/docs/reference/instance-types.md"
GO_PATH = "pkg/providers/pricing/zz_generated.pricing_aws.go"

# Current-generation general purpose (m), burstable (t), compute optimised (c) and memory
# optimised (r, x, z, u-/u7i*) families, amd64 and arm64, as listed in Karpenter's docs.
# Every family in the docs must be classified below (the script fails otherwise), so a new
# family shows up as an error rather than silently dropped.
INCLUDE = set("""
t3 t3a t4g
m5 m5a m5ad m5d m5dn m5n m5zn m6a m6g m6gd m6i m6id m6idn m6in m7a m7g m7gd m7i m7i-flex
m8a m8azn m8g m8gb m8gd m8gn m8i m8i-flex m8ib m8id m8idb m8idn m8in m8ine m9g m9gd
c5 c5a c5ad c5d c5n c6a c6g c6gd c6gn c6i c6id c6in c7a c7g c7gd c7gn c7i c7i-flex
c8a c8g c8gb c8gd c8gn c8i c8i-flex c8ib c8id c8in c8ine c9g c9gd
r5 r5a r5ad r5b r5d r5dn r5n r6a r6g r6gd r6i r6id r6idn r6in r7a r7g r7gd r7i r7iz
r8a r8g r8gb r8gd r8gn r8i r8i-flex r8ib r8id r8idb r8idn r8in
x1 x1e x2gd x2idn x2iedn x2iezn x8aedz x8g x8i z1d
u-3tb1 u-6tb1 u7i-6tb u7i-8tb u7i-12tb u7in-16tb u7in-24tb u7in-32tb
""".split())
EXCLUDE = {
    # previous generation / retired
    "a1", "c1", "c3", "c4", "m1", "m2", "m3", "m4", "r3", "r4", "t1", "t2",
    # storage optimised
    "d2", "d3", "d3en", "h1", "i2", "i3", "i3en", "i4g", "i4i", "i7i", "i7ie", "i8g", "i8ge",
    "im4gn", "is4gen",
    # HPC optimised
    "hpc6a", "hpc6id", "hpc7a", "hpc7g", "hpc8a",
    # accelerated (GPU, Inferentia, Trainium, FPGA, video, Gaudi/Qualcomm)
    "dl2q", "f2", "g4ad", "g4dn", "g5", "g5g", "g6", "g6e", "g6f", "g7", "g7e", "gr6", "gr6f",
    "inf1", "inf2", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200", "p6-b300",
    "trn1", "trn1n", "trn2", "vt1",
}

HEADER = ["instance_type", "arch", "vcpu", "memory_mib", "max_pods", "gpu_count", "gpu_name",
          "gpu_memory_mib", "efa_interfaces", "od_price_us_east_1", "od_price_us_west_2"]


def git_show(repo, rev, path):
    return subprocess.run(["git", "-C", repo, "show", f"{rev}:{path}"], check=True,
                          capture_output=True, text=True).stdout


def git_info(repo, rev, path=None):
    cmd = ["git", "-C", repo, "log", "-1", "--format=%H %cs", rev]
    if path:
        cmd += ["--", path]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


def parse_docs(md):
    """Return {instance_type: {'labels': {...}, 'resources': {...}}} in document order."""
    types = {}
    cur = None
    section = None
    for line in md.splitlines():
        m = re.match(r"^### `([^`]+)`", line)
        if m:
            cur = {"labels": {}, "resources": {}}
            types[m.group(1)] = cur
            section = None
            continue
        if line.startswith("#### Labels"):
            section = "labels"
            continue
        if line.startswith("#### Resources"):
            section = "resources"
            continue
        if line.startswith("## "):
            cur, section = None, None
            continue
        if cur is None or section is None:
            continue
        m = re.match(r"^\s*\|([^|]+)\|([^|]*)\|\s*$", line)
        if not m:
            continue
        k, v = m.group(1).strip(), m.group(2).strip()
        if k in ("Label", "Resource") or k.startswith("--"):
            continue
        cur[section][k] = v
    return types


def parse_prices(go):
    """Return ({region: {type: price_str}}, generated-at comment)."""
    gen = re.search(r"//\s*generated at (\S+) for (\S+)", go)
    regions = {}
    region = None
    for line in go.splitlines():
        m = re.match(r'^\s*"([a-z]{2}(?:-[a-z]+)+-\d+)":\s*\{', line)
        if m:
            region = m.group(1)
            regions[region] = {}
            continue
        if region is None:
            continue
        for t, p in re.findall(r'"([a-z0-9][a-z0-9.-]*\.[a-z0-9-]+)":\s*([0-9.]+)', line):
            regions[region][t] = p
    return regions, (gen.group(1), gen.group(2)) if gen else (None, None)


def fmt_price(p):
    if p is None or p == "":
        return ""
    d = Decimal(p).normalize()
    s = format(d, "f")
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo")
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("--md")
    ap.add_argument("--go")
    ap.add_argument("--west2")
    # AWS prices these families alike in us-east-1 and us-west-2 (spot-checked on c7i and a1
    # in SkyPilot's catalog); with no us-west-2 list at hand, say so and reuse us-east-1.
    ap.add_argument("--west2-as-east1", action="store_true")
    ap.add_argument("--out", default="aws-cpu-instance-types.csv")
    a = ap.parse_args()

    if a.repo:
        md = git_show(a.repo, a.rev, MD_PATH)
        go = git_show(a.repo, a.rev, GO_PATH)
        head = git_info(a.repo, a.rev)
        md_commit = git_info(a.repo, a.rev, MD_PATH)
        go_commit = git_info(a.repo, a.rev, GO_PATH)
        try:
            desc = subprocess.run(["git", "-C", a.repo, "describe", "--tags", a.rev],
                                  capture_output=True, text=True).stdout.strip()
        except Exception:
            desc = ""
    else:
        md = open(a.md).read()
        go = open(a.go).read()
        head = md_commit = go_commit = "? ?"
        desc = "plain files"

    docs = parse_docs(md)
    prices, (gen_at, gen_region) = parse_prices(go)
    east = prices.get("us-east-1", {})
    west = prices.get("us-west-2")
    west_src = "zz_generated.pricing_aws.go" if west else None
    if west is None and a.west2:
        west = {}
        with open(a.west2) as f:
            for row in csv.reader(f):
                if row and not row[0].startswith("#") and row[0] != "instance_type":
                    west[row[0]] = row[1]
        west_src = a.west2
    if west is None and a.west2_as_east1:
        west = dict(east)
        west_src = "as-east1"
    west = west or {}

    fams_in_docs = {}
    for t, d in docs.items():
        fam = d["labels"].get("karpenter.k8s.aws/instance-family") or t.split(".")[0]
        fams_in_docs.setdefault(fam, []).append(t)
    unknown = sorted(set(fams_in_docs) - INCLUDE - EXCLUDE)
    if unknown:
        sys.exit(f"unclassified families in docs: {unknown}")
    missing_fams = sorted(INCLUDE - set(fams_in_docs))

    rows = []
    no_east = []
    for t, d in docs.items():
        L, R = d["labels"], d["resources"]
        fam = L.get("karpenter.k8s.aws/instance-family") or t.split(".")[0]
        if fam not in INCLUDE:
            continue
        if any(k in R for k in ("nvidia.com/gpu", "amd.com/gpu", "aws.amazon.com/neuron")):
            sys.exit(f"{t}: accelerator in an included family")
        arch = L["kubernetes.io/arch"]
        assert arch in ("amd64", "arm64"), (t, arch)
        vcpu = int(L["karpenter.k8s.aws/instance-cpu"])
        mem = int(L["karpenter.k8s.aws/instance-memory"])
        pods = int(R["pods"])
        efa = int(R.get("vpc.amazonaws.com/efa", "0"))
        pe = east.get(t)
        if pe is None:
            no_east.append(t)
        rows.append({
            "fam": fam, "size": L.get("karpenter.k8s.aws/instance-size", t.split(".", 1)[1]),
            "instance_type": t, "arch": arch, "vcpu": vcpu, "memory_mib": mem,
            "max_pods": pods, "gpu_count": 0, "gpu_name": "", "gpu_memory_mib": 0,
            "efa_interfaces": efa, "od_price_us_east_1": fmt_price(pe),
            "od_price_us_west_2": fmt_price(west.get(t)),
        })

    rows.sort(key=lambda r: (r["fam"], r["vcpu"], r["memory_mib"], "metal" in r["size"],
                             r["instance_type"]))

    fams = sorted({r["fam"] for r in rows})
    n_arm = sum(r["arch"] == "arm64" for r in rows)
    comments = [
        "AWS EC2 CPU-only instance types (general purpose m, burstable t, compute optimised c,",
        "memory optimised r/x/z/u), amd64 and Graviton arm64, as Karpenter's AWS provider sees them.",
        "Specs: aws/karpenter-provider-aws " + MD_PATH,
        f"  (snapshot {head.split()[0][:12]} of {head.split()[1]}, {desc or 'untagged'}, i.e. v1.14.1 docs;",
        f"  file last changed in {md_commit.split()[0][:12]} on {md_commit.split()[1]}; generated from EC2",
        "  DescribeInstanceTypes, union of us-east-1, us-east-2 and us-west-2).",
        "  vcpu = label karpenter.k8s.aws/instance-cpu;",
        "  memory_mib = label karpenter.k8s.aws/instance-memory; max_pods = the Resources 'pods' value",
        "  (ENI-limited, AL2023); efa_interfaces = Resources vpc.amazonaws.com/efa, else 0.",
        "On-demand prices (USD/hour, Linux, shared tenancy): us-east-1 from aws/karpenter-provider-aws",
        f"  {GO_PATH}",
        f"  (commit {go_commit.split()[0][:12]} of {go_commit.split()[1]}, generated {gen_at}).",
    ]
    if west_src == "as-east1":
        comments.append("  us-west-2: the us-east-1 price (--west2-as-east1): that file only has us-east-1;")
        comments.append("  AWS prices these families alike in both regions (spot-checked on c7i.2xlarge-48xlarge")
        comments.append("  in skypilot-org/skypilot-catalog catalogs/v8/aws/vms.csv). Empty: no price in that file.")
    elif west_src:
        comments.append(f"  us-west-2 from {west_src}.")
    else:
        comments.append("  us-west-2: empty everywhere; that file only has us-east-1 and no full public")
        comments.append("  us-west-2 list could be had here. Empty us-east-1: no price in that file.")
    comments += [
        "Left out: previous generations (a1, c1, c3, c4, m1-m4, r3, r4, t1, t2), storage optimised",
        "  (d*, h1, i*, im4gn, is4gen), HPC (hpc*) and accelerated families (GPU, inf, trn, dl2q, f2, vt1).",
        "Generated by make_aws_cpu_catalog.py; sorted by family, then vCPU, memory, metal last.",
        f"{len(rows)} types in {len(fams)} families ({n_arm} arm64).",
    ]
    with open(a.out, "w", newline="") as f:
        for c in comments:
            f.write("# " + c + "\n")
        w = csv.DictWriter(f, fieldnames=HEADER, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow(r)

    print(f"rows={len(rows)} families={len(fams)} arm64={n_arm}", file=sys.stderr)
    print("families:", " ".join(fams), file=sys.stderr)
    print("included families absent from docs:", missing_fams, file=sys.stderr)
    print("regions in Go file:", sorted(prices), "generated", gen_at, gen_region, file=sys.stderr)
    print(f"no us-east-1 price ({len(no_east)}):", " ".join(no_east), file=sys.stderr)


if __name__ == "__main__":
    main()
