#!/usr/bin/env python3
"""The convergence benchmark: every training-acceleration method against the EDM2 recipe on
Fashion-MNIST, several seeds each, with the same model, data, batch, image budget and sampler.

    python3 bench/convergence/run.py --scale quick     # ~40 min on 2 CPU cores
    python3 bench/convergence/run.py --scale full      # ~5 h on 2 CPU cores

Per method and seed it trains with the `diffuse` CLI, reconstructs the post-hoc EMA at a fixed
sigma_rel at each evaluation point (`diffuse phema --nimg`), measures FD_cls / KID_cls / precision /
recall / SWD (`diffuse eval`), reads the validation loss from stats.jsonl, and measures the
consistency between seeds of one method (`diffuse consistency`). It writes results.md (mean +- std over
seeds, images needed to reach 1.1 x the baseline's final FD_cls), curves as .dat files and, when
gnuplot is installed, PNG plots. Needs python3 (standard library only) and a built tree.
"""
import argparse
import concurrent.futures
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FASHION = "/usr/share/datasets/fashion-mnist"

# Model, data and schedule of each scale. quick: 16x16, 0.2 M parameters; full: the demo's 32x32 model.
SCALES = {
    # A check of the script itself (a minute per method), not a measurement.
    "smoke": dict(
        model="img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2] "
              "num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16",
        resize="RESIZE", batch=32, images=2048, eval_every=1024, eval_images=40, steps=4,
        ref_batches=16, rampup=256, patience=5),
    "quick": dict(
        model="img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2] "
              "num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16",
        resize="RESIZE", batch=32, images=8192, eval_every=2048, eval_images=250, steps=16,
        ref_batches=128, rampup=1024, patience=40),
    # Four times quick's budget on the same model: long enough for the schedules that depend on training
    # progress (MDLRC, CLTS) to play out; the scale the defaults were decided at (--matrix defaults).
    "medium": dict(
        model="img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2] "
              "num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16",
        resize="RESIZE", batch=32, images=32768, eval_every=8192, eval_images=500, steps=16,
        ref_batches=256, rampup=2048, patience=100),
    "full": dict(
        model="img_resolution: 32 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2, 2] "
              "num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 32",
        resize="PAD", batch=64, images=65536, eval_every=16384, eval_images=1000, steps=32,
        ref_batches=1000, rampup=8192, patience=200),
}

# Each method: the noise, loss and momentum sections it changes (the rest is the EDM2 recipe).
def methods(scale, matrix):
    s = SCALES[scale]
    mdlrc = lambda mode: ("momentum_schedule: MDLRC mdlrc { beta1_start: 0.9 beta1_end: 0.5 p_start: 0 p_end: 0.5 "
                          "shape: LINEAR compensation: %s bias_correction: EXACT }" % mode)
    clusters = "curriculum: CLUSTERS clusters { num_clusters: 20 pacing: PLATEAU patience: %d }" % s["patience"]
    clts = lambda s_max, ramp: "curriculum: CLTS clts { variant: SUPPRESS s_max: %g ramp: %g }" % (s_max, ramp)
    if matrix == "defaults":
        # The two defaults the benchmark decides: MDLRC's compensation mode and CLTS's strength and ramp.
        return [
            ("edm2", "", "", ""),
            ("mdlrc-none", "", "", mdlrc("NONE")),
            ("mdlrc-sgd", "", "", mdlrc("SGD_EQUIVALENT")),
            ("mdlrc-noise", "", "", mdlrc("NOISE_EQUIVALENT")),
            ("clts-0.25", clts(0.25, 0.5), "", ""),
            ("clts-0.5", clts(0.5, 0.5), "", ""),
            ("clts-0.75", clts(0.75, 0.5), "", ""),
            ("clts-0.5-ramp0", clts(0.5, 0), "", ""),
        ]
    return [
        ("edm2", "", "", ""),
        ("min-snr-5", "", "weighting: MIN_SNR snr_gamma: 5 uncertainty: false", ""),
        ("laplace", "distribution: LAPLACE mu: 0 laplace_b: 0.5", "", ""),
        ("clts", clts(0.5, 0.5), "", ""),
        ("clusters", clusters, "", ""),
        ("mdlrc-none", "", "", mdlrc("NONE")),
        ("mdlrc-sgd", "", "", mdlrc("SGD_EQUIVALENT")),
        ("mdlrc-noise", "", "", mdlrc("NOISE_EQUIVALENT")),
        ("combined", clusters, "weighting: MIN_SNR snr_gamma: 5 uncertainty: false", mdlrc("NOISE_EQUIVALENT")),
    ]


def train_config(scale, noise, loss, momentum, out_dir, seed, threads):
    s = SCALES[scale]
    return f"""model {{ {s['model']} }}
data {{
  train {{ format: IDX path: "{FASHION}/train-images-idx3-ubyte.gz" labels_path: "{FASHION}/train-labels-idx1-ubyte.gz" }}
  validation {{ format: IDX path: "{FASHION}/t10k-images-idx3-ubyte.gz" labels_path: "{FASHION}/t10k-labels-idx1-ubyte.gz" }}
  resize: {s['resize']}
}}
noise {{ {noise} }}
loss {{ {loss} }}
optimizer {{ ref_lr: 0.01 ref_batches: {s['ref_batches']} rampup_images: {s['rampup']} {momentum} }}
ema {{ sigma_rels: [0.05, 0.10] snapshot_images: {s['eval_every']} snapshot_dtype: FP32 }}
run {{
  output_dir: "{out_dir}" seed: {seed} batch_size: {s['batch']} duration_images: {s['images']}
  status_images: {s['eval_every'] // 4} validation_interval_images: {s['eval_every'] // 2} validation_images: 256
  checkpoint_images: 0 threads: {threads}
}}
"""


def eval_config(scale, path):
    s = SCALES[scale]
    return f"""reference {{ format: IDX path: "{FASHION}/t10k-images-idx3-ubyte.gz" labels_path: "{FASHION}/t10k-labels-idx1-ubyte.gz" }}
resize: {s['resize']}
classifier: "{ROOT}/metrics/fashion-mnist-classifier.safetensors"
num_images: {s['eval_images']}
sampler {{ num_steps: {s['steps']} }}
seed: 1000000
"""


def run(cmd, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{result.stdout}\n{result.stderr}")
    return result.stdout


def parse_metrics(text):
    keys = {"FD_cls": "fd_cls", "KID_cls": "kid_cls", "precision": "precision", "recall": "recall",
            "SWD (x1e3)": "swd", "validation loss": "validation_loss", "relative MSD": "relative_msd",
            "cosine": "cosine"}
    out = {}
    for line in text.splitlines():
        for label, key in keys.items():
            if line.startswith(label + " "):
                out[key] = float(line[len(label):].split()[0])
    return out


def mean_std(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.4g}"
    return f"{statistics.mean(values):.4g} ± {statistics.stdev(values):.2g}"


def images_to_reach(curve, target):
    """First image count at which FD_cls <= target, linearly interpolated; None if never."""
    previous = None
    for nimg, fd in curve:
        if fd <= target:
            if previous is None:
                return nimg
            (n0, f0) = previous
            return n0 + (nimg - n0) * (f0 - target) / (f0 - fd)
        previous = (nimg, fd)
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=SCALES, default="quick")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--matrix", choices=("methods", "defaults"), default="methods",
                        help="methods: every method against the baseline; defaults: the MDLRC compensation modes "
                             "and CLTS strengths/ramps the library's defaults are chosen from")
    parser.add_argument("--methods", default="", help="comma-separated subset of the method names")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (each gets cores/jobs threads)")
    parser.add_argument("--cli", default=os.path.join(ROOT, "build", "bin", "diffuse"))
    parser.add_argument("--work", default=os.path.join(ROOT, "runs", "bench-convergence"))
    parser.add_argument("--out", default="")
    parser.add_argument("--report", metavar="DIR", help="only rewrite the table and plots from DIR/results.json")
    args = parser.parse_args()
    if args.report:
        return report(args.report)
    scale = SCALES[args.scale]
    suffix = args.scale if args.matrix == "methods" else f"{args.scale}-{args.matrix}"
    out_dir = args.out or os.path.join(ROOT, "bench", "results", f"convergence-{suffix}")
    args.work = os.path.join(args.work, suffix)
    os.makedirs(out_dir, exist_ok=True)
    os.makedirs(args.work, exist_ok=True)
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", DIFFUSE_LOG_LEVEL="warn")
    chosen = [m for m in methods(args.scale, args.matrix) if not args.methods or m[0] in args.methods.split(",")]
    eval_points = list(range(scale["eval_every"], scale["images"] + 1, scale["eval_every"]))
    eval_path = os.path.join(args.work, "eval.textproto")
    with open(eval_path, "w") as f:
        f.write(eval_config(args.scale, eval_path))

    def train_and_evaluate(name, noise, loss, momentum, seed):
        run_dir = os.path.join(args.work, f"{name}-seed{seed}")
        shutil.rmtree(run_dir, ignore_errors=True)
        config = os.path.join(args.work, f"{name}-seed{seed}.textproto")
        with open(config, "w") as f:
            f.write(train_config(args.scale, noise, loss, momentum, run_dir, seed, threads))
        t0 = time.time()
        run([args.cli, "train", config], env=env)
        train_seconds = time.time() - t0
        curve = []
        for nimg in eval_points:
            phema_dir = os.path.join(run_dir, "phema")
            run([args.cli, "phema", run_dir, "--sigma-rel", "0.075", "--nimg", str(nimg), "--out", phema_dir,
                 "--fp32", "--force"], env=env)
            model = os.path.join(phema_dir, f"phema-0.075-{nimg // 1000:07d}.safetensors")
            metrics = parse_metrics(run([args.cli, "eval", model, eval_path], env=env))
            curve.append((nimg, metrics))
        validation = []
        with open(os.path.join(run_dir, "stats.jsonl")) as f:
            for line in f:
                row = json.loads(line)
                if "validation_loss" in row:
                    validation.append((row["nimg"], row["validation_loss"]))
        print(f"[{time.time() - started:7.0f} s] {name} seed {seed}: FD_cls {curve[-1][1]['fd_cls']:.3f}, "
              f"validation loss {validation[-1][1]:.4f} ({train_seconds:.0f} s training)", flush=True)
        return dict(seed=seed, curve=curve, validation=validation, train_seconds=train_seconds, model=model)

    # Runs are independent: --jobs N runs N at once, each with cores/N threads (small models use cores
    # better as separate processes than as threads of one).
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    env["OMP_NUM_THREADS"] = str(threads)  # for phema/eval/consistency; training takes run.threads
    started = time.time()
    jobs = [(m, seed) for m in chosen for seed in range(args.seeds)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(train_and_evaluate, *m, seed) for m, seed in jobs]
        finished = [f.result() for f in futures]
    results = {}  # method -> list of per-seed dicts, in seed order
    for ((name, *_), _), r in zip(jobs, finished):
        results.setdefault(name, []).append(r)

    # Consistency between seeds of one method: final models of seed 0 and seed 1.
    consistency = {}
    for name, runs in results.items():
        if len(runs) >= 2:
            text = run([args.cli, "consistency", runs[0]["model"], runs[1]["model"], "--seeds", "0-63", "--steps",
                        str(scale["steps"])], env=env)
            consistency[name] = parse_metrics(text)

    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    command = f"python3 bench/convergence/run.py --scale {args.scale} --matrix {args.matrix} --seeds {args.seeds}" + \
        (f" --jobs {args.jobs}" if args.jobs > 1 else "")
    record = dict(
        scale=args.scale, matrix=args.matrix, seeds=args.seeds, command=command, commit=commit,
        date=time.strftime("%Y-%m-%d"), machine=f"{platform.machine()} with {os.cpu_count()} cores",
        wall_seconds=time.time() - started, consistency=consistency,
        runs={name: [dict(seed=r["seed"], curve=r["curve"], validation=r["validation"],
                          train_seconds=r["train_seconds"]) for r in runs] for name, runs in results.items()})
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(record, f, indent=1)
    report(out_dir)


def welch_t(values, baseline):
    """(mean(values) - mean(baseline)) / its standard error; None with fewer than two of either."""
    if len(values) < 2 or len(baseline) < 2:
        return None
    se = math.sqrt(statistics.variance(values) / len(values) + statistics.variance(baseline) / len(baseline))
    return (statistics.mean(values) - statistics.mean(baseline)) / se if se > 0 else None


def report(out_dir):
    """Writes results.md, the .dat curves and the PNG plots from results.json."""
    with open(os.path.join(out_dir, "results.json")) as f:
        record = json.load(f)
    results, consistency = record["runs"], record["consistency"]
    scale = SCALES[record["scale"]]
    eval_points = [nimg for nimg, _ in next(iter(results.values()))[0]["curve"]]

    # Curves (mean over seeds) for plotting.
    for name, runs in results.items():
        with open(os.path.join(out_dir, f"{name}.fd.dat"), "w") as f:
            for i, nimg in enumerate(eval_points):
                f.write(f"{nimg} {statistics.mean(r['curve'][i][1]['fd_cls'] for r in runs):.6g}\n")
        with open(os.path.join(out_dir, f"{name}.val.dat"), "w") as f:
            for i, (nimg, _) in enumerate(runs[0]["validation"]):
                f.write(f"{nimg} {statistics.mean(r['validation'][i][1] for r in runs):.6g}\n")

    def mean_curve(runs, key):
        if key == "val":
            return [(nimg, statistics.mean(r["validation"][i][1] for r in runs))
                    for i, (nimg, _) in enumerate(runs[0]["validation"])]
        return [(nimg, statistics.mean(r["curve"][i][1]["fd_cls"] for r in runs)) for i, nimg in enumerate(eval_points)]

    baseline = results.get("edm2")
    fd_target = 1.1 * mean_curve(baseline, "fd")[-1][1] if baseline else None
    val_target = mean_curve(baseline, "val")[-1][1] if baseline else None
    base_fd_reach = images_to_reach(mean_curve(baseline, "fd"), fd_target) if baseline else None
    base_val_reach = images_to_reach(mean_curve(baseline, "val"), val_target) if baseline else None
    final_fd = lambda runs: [r["curve"][-1][1]["fd_cls"] for r in runs]
    final_val = lambda runs: [r["validation"][-1][1] for r in runs]

    def fmt_t(values, base):
        t = welch_t(values, base) if base else None
        return f"{t:+.1f}" if t is not None else "n/a"

    def fmt_reach(reach, base_reach):
        if not reach:
            return "not reached"
        return f"{reach:.0f} ({base_reach / reach:.2f}x)" if base_reach else f"{reach:.0f}"

    lines = [
        f"# Convergence benchmark ({record['scale']}, {record['matrix']})", "",
        f"{record['date']}, commit {record['commit']}, {record['machine']}, {record['seeds']} seeds per method, "
        f"{scale['images']} training images, evaluation every {scale['eval_every']} images on "
        f"{scale['eval_images']} samples ({scale['steps']} Heun steps, post-hoc EMA sigma_rel 0.075), "
        f"{record['wall_seconds'] / 60:.0f} min wall. Command: `{record['command']}`.", "",
        "Columns: final FD_cls and validation loss as mean ± std over seeds; *t*: Welch's t of the method's final "
        "value against the baseline's (negative = better; |t| > 2.8 is significant at 5 % for 3 + 3 seeds); "
        "*images to reach*: the first image count (interpolated) at which the method's mean curve reaches 1.1 x the "
        "baseline's final FD_cls" + (f" ({fd_target:.3f})" if fd_target else "") +
        ", or the baseline's final validation loss" + (f" ({val_target:.4f})" if val_target else "") +
        ", with the speed-up over the baseline.", "",
        "| method | FD_cls | t | KID_cls | precision | recall | SWD | val. loss | t | images to reach FD | "
        "images to reach val. loss | train s | seed consistency (rel. MSD) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, runs in results.items():
        final = [r["curve"][-1][1] for r in runs]
        fd_reach = images_to_reach(mean_curve(runs, "fd"), fd_target) if fd_target else None
        val_reach = images_to_reach(mean_curve(runs, "val"), val_target) if val_target else None
        lines.append("| " + " | ".join([
            name, mean_std(final_fd(runs)), fmt_t(final_fd(runs), baseline and final_fd(baseline)),
            mean_std([m["kid_cls"] for m in final]), mean_std([m["precision"] for m in final]),
            mean_std([m["recall"] for m in final]), mean_std([m["swd"] for m in final]),
            mean_std(final_val(runs)), fmt_t(final_val(runs), baseline and final_val(baseline)),
            fmt_reach(fd_reach, base_fd_reach), fmt_reach(val_reach, base_val_reach),
            mean_std([r["train_seconds"] for r in runs]),
            f"{consistency[name]['relative_msd']:.3f}" if name in consistency else "n/a"]) + " |")
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")

    if shutil.which("gnuplot"):
        for kind, ylabel, log in (("fd", "FD_cls", True), ("val", "validation loss", False)):
            plots = ", ".join(f"'{name}.{kind}.dat' with linespoints title '{name}'" for name in results)
            script = (f"set terminal pngcairo size 900,600\nset output '{kind}.png'\nset xlabel 'training images'\n"
                      f"set ylabel '{ylabel}' noenhanced\n{'set logscale y' if log else ''}\nset key outside right\nplot {plots}\n")
            subprocess.run(["gnuplot"], input=script, text=True, cwd=out_dir, check=True)
    print("\n".join(lines))
    print(f"\nwrote {out_dir}/results.md")


if __name__ == "__main__":
    main()
