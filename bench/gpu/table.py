#!/usr/bin/env python3
"""Reads RESULT lines (train_bench, reference_mpunet.py) from the given logs and prints the results
table of bench/gpu/README.md: speed-up = images/s over python-compiled's at the same precision."""
import sys

rows = []
for path in sys.argv[1:]:
    for line in open(path):
        if line.startswith("RESULT "):
            rows.append(dict(kv.split("=", 1) for kv in line.split()[1:]))
compiled = {r["precision"]: float(r["images_per_s"]) for r in rows if r["impl"] == "python-compiled"}
print("| implementation | precision | batch (micro) | images/s | ms/step | speed-up vs compiled Python |")
print("|---|---|---|---|---|---|")
for r in rows:
    ref = compiled.get(r["precision"])
    speedup = f"{float(r['images_per_s']) / ref:.2f}x" if ref else "n/a"
    print(f"| {r['impl']} | {r['precision']} | {r['batch']} ({r['micro']}) | {float(r['images_per_s']):.0f} | "
          f"{float(r['ms_per_step']):.1f} | {speedup} |")
