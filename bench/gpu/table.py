#!/usr/bin/env python3
"""Reads the RESULT lines of train_bench, sample_bench and reference_mpunet.py from the given logs, prints
the results tables of bench/gpu/README.md and, with --json, writes one record per row.

  table.py LOG... [--json FILE --card NAME --driver VERSION --torch VERSION --commit SHA]

Training speed-ups are images/s over python-compiled's (and python-eager's) at the same precision;
sampling speed-ups over python-sampler's at the same precision and batch; a lever's effect is
diffuse-trainer's images/s over diffuse-trainer-without-<lever>'s (diffuse-sampler's over
diffuse-sampler-without-<lever>'s at the same batch)."""
import argparse
import json
import sys


def read_rows(paths):
    rows = []
    for path in paths:
        for line in open(path):
            if line.startswith("RESULT "):
                rows.append(dict(kv.split("=", 1) for kv in line.split()[1:]))
    return rows


def ratio(value, reference):
    return f"{value / reference:.2f}x" if reference else "n/a"


def gib(row):
    return f"{int(row['peak_bytes']) / 2**30:.1f}" if "peak_bytes" in row else "n/a"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("logs", nargs="+")
    p.add_argument("--json")
    for key in ("card", "driver", "torch", "commit", "date"):
        p.add_argument("--" + key, default="")
    args = p.parse_args()
    rows = read_rows(args.logs)
    train = [r for r in rows if "micro" in r]
    sample = [r for r in rows if "steps" in r]

    def reference(impl, precision, batch=None):
        for r in rows:
            if r["impl"] == impl and r["precision"] == precision and (batch is None or r["batch"] == batch):
                return float(r["images_per_s"])
        return None

    if train:
        print("| implementation | precision | batch (micro) | images/s | ms/step | peak GiB | vs compiled Python | vs eager Python |")
        print("|---|---|---|---|---|---|---|---|")
        for r in train:
            v = float(r["images_per_s"])
            print(f"| {r['impl']} | {r['precision']} | {r['batch']} ({r['micro']}) | {v:.0f} | {float(r['ms_per_step']):.1f} | "
                  f"{gib(r)} | {ratio(v, reference('python-compiled', r['precision']))} | "
                  f"{ratio(v, reference('python-eager', r['precision']))} |")
    # Each lever's effect: the full implementation's images/s over the row without the lever (at the same
    # batch for the sampler, whose batches differ).
    def lever_table(rows_of, impl, by_batch):
        prefix = impl + "-without-"
        levers = [r for r in rows_of if r["impl"].startswith(prefix)]
        if not levers:
            return
        print()
        print(f"| {impl} lever | precision |{' batch |' if by_batch else ''} images/s without it | with every lever | its effect |")
        print("|---|---|---|---|---|" + ("---|" if by_batch else ""))
        for r in levers:
            v = float(r["images_per_s"])
            full = reference(impl, r["precision"], r["batch"] if by_batch else None)
            print(f"| {r['impl'][len(prefix):]} | {r['precision']} |{' ' + r['batch'] + ' |' if by_batch else ''} {v:.1f} | "
                  + (f"{full:.1f} | {ratio(full, v)} |" if full else "n/a | n/a |"))

    lever_table(train, "diffuse-trainer", by_batch=False)
    lever_table(train, "diffuse-trainer-dropout", by_batch=False)
    if sample:
        print()
        print("| implementation | precision | batch | Heun steps | images/s | ms/batch | peak GiB | vs Python sampler |")
        print("|---|---|---|---|---|---|---|---|")
        for r in sample:
            v = float(r["images_per_s"])
            print(f"| {r['impl']} | {r['precision']} | {r['batch']} | {r['steps']} | {v:.1f} | {float(r['ms_per_batch']):.1f} | "
                  f"{gib(r)} | {ratio(v, reference('python-sampler', r['precision'], r['batch']))} |")
    lever_table(sample, "diffuse-sampler", by_batch=True)
    if args.json:
        records = []
        for r in rows:
            records.append({
                "implementation": r["impl"],
                "task": "train" if "micro" in r else "sample",
                "precision": r["precision"],
                "batch": int(r["batch"]),
                **({"micro_batch": int(r["micro"])} if "micro" in r else {"heun_steps": int(r["steps"])}),
                "images_per_second": float(r["images_per_s"]),
                "peak_memory_bytes": int(r["peak_bytes"]) if "peak_bytes" in r else None,
                "card": args.card, "driver": args.driver, "torch": args.torch, "commit": args.commit, "date": args.date,
            })
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)
            f.write("\n")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
