#!/usr/bin/env python3
"""Sample quality per network evaluation: FD_cls (diffuse eval, 1000 samples against 1000 Fashion-MNIST
test images, the committed feature classifier) of one model for each solver at several step counts, as
a table, a JSON record and a plot of FD_cls against NFE (bench/sampling/README.md).

  quality.py MODEL OUT_DIR [--cli build/bin/diffuse] [--images 1000]

Solvers and steps: Heun N = 4, 8, 16, 32 (NFE 7, 15, 31, 63); Euler at NFE 8, 16, 32, 63; DPM++(2M)
at 8, 10, 15, 20, 32; DPM++(2M) SDE at 10, 20, 32. Every run uses the same seeds (EvalConfig.seed 0).
Finished runs are kept in OUT_DIR/rows.jsonl, and a second call skips them (one eval takes 1-3 min on
2 cores)."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FASHION = os.environ.get("DIFFUSE_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
PLAN = [("HEUN", [4, 8, 16, 32]), ("EULER", [8, 16, 32, 63]), ("DPMPP_2M", [8, 10, 15, 20, 32]),
        ("DPMPP_2M_SDE", [10, 20, 32])]


def nfe(solver, n):
    return 2 * n - 1 if solver == "HEUN" else n


def evaluate(cli, model, solver, n, images, out_dir):
    config = os.path.join(out_dir, f"eval-{solver}-{n}.textproto")
    with open(config, "w") as f:
        f.write(f'reference {{ format: IDX path: "{FASHION}/t10k-images-idx3-ubyte.gz"\n'
                f'            labels_path: "{FASHION}/t10k-labels-idx1-ubyte.gz" }}\n'
                f'resize: PAD\nclassifier: "{ROOT}/metrics/fashion-mnist-classifier.safetensors"\n'
                f'num_images: {images}\nseed: 0\nsampler {{ num_steps: {n} solver: {solver} }}\n')
    t0 = time.time()
    out = subprocess.run([cli, "eval", model, config], check=True, capture_output=True, text=True).stdout
    values = {m.group(1).strip(): float(m.group(2)) for m in re.finditer(r"^(\S[^\d\n]*?)\s+([-\d.eE+]+)$", out, re.M)}
    return {"solver": solver, "steps": n, "nfe": nfe(solver, n), "fd_cls": values["FD_cls"],
            "kid_cls": values["KID_cls"], "precision": values["precision"], "recall": values["recall"],
            "seconds": round(time.time() - t0, 1)}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("out_dir")
    p.add_argument("--cli", default=os.path.join(ROOT, "build", "bin", "diffuse"))
    p.add_argument("--images", type=int, default=1000)
    args = p.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    done_path = os.path.join(args.out_dir, "rows.jsonl")
    done = {}
    if os.path.exists(done_path):
        for line in open(done_path):
            row = json.loads(line)
            done[(row["solver"], row["steps"])] = row
    rows = []
    for solver, steps in PLAN:
        for n in steps:
            row = done.get((solver, n)) or evaluate(args.cli, args.model, solver, n, args.images, args.out_dir)
            if (solver, n) not in done:
                with open(done_path, "a") as f:
                    f.write(json.dumps(row) + "\n")
            rows.append(row)
            print(json.dumps(row), flush=True)
    with open(os.path.join(args.out_dir, "results.json"), "w") as f:
        json.dump({"model": os.path.basename(args.model), "images": args.images,
                   "command": " ".join(sys.argv), "rows": rows}, f, indent=1)
    heun63 = next(r["fd_cls"] for r in rows if r["solver"] == "HEUN" and r["nfe"] == 63)
    lines = [f"FD_cls of {args.images} samples against {args.images} Fashion-MNIST test images "
             f"(Heun at 63 NFE: {heun63:.2f}); ratio = FD_cls / Heun's at 63 NFE.", "",
             "| solver | steps | NFE | FD_cls | ratio | KID_cls | precision | recall | seconds |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['solver']} | {r['steps']} | {r['nfe']} | {r['fd_cls']:.2f} | {r['fd_cls'] / heun63:.3f} | "
                     f"{r['kid_cls']:.4f} | {r['precision']:.3f} | {r['recall']:.3f} | {r['seconds']} |")
    with open(os.path.join(args.out_dir, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    if shutil.which("gnuplot"):
        for solver, _ in PLAN:
            with open(os.path.join(args.out_dir, f"{solver}.dat"), "w") as f:
                f.writelines(f"{r['nfe']} {r['fd_cls']}\n" for r in rows if r["solver"] == solver)
        plots = ", ".join(f"'{s}.dat' with linespoints title '{s}' noenhanced" for s, _ in PLAN)
        script = ("set terminal pngcairo size 900,600\nset output 'fd_vs_nfe.png'\nset xlabel 'network evaluations'\n"
                  "set ylabel 'FD_cls' noenhanced\nset logscale xy\nset key top right\n"
                  f"set arrow from 6,{heun63 * 1.05} to 70,{heun63 * 1.05} nohead dashtype 2\nplot {plots}\n")
        subprocess.run(["gnuplot"], input=script, text=True, cwd=args.out_dir, check=True)


if __name__ == "__main__":
    main()
