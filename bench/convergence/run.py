#!/usr/bin/env python3
"""The convergence benchmark: every training-acceleration method against the EDM2 recipe on
Fashion-MNIST (CPU) or CIFAR-10 (GPU), several seeds each, with the same model, data, batch, image
budget and sampler.

    python3 bench/convergence/run.py --scale quick                 # ~40 min on 2 CPU cores
    python3 bench/convergence/run.py --scale medium --jobs 2       # ~2 h on 2 CPU cores (9 methods: ~2.5 h)
    python3 bench/convergence/run.py --scale full                  # ~5 h on 2 CPU cores
    python3 bench/convergence/run.py --scale cifar10-gpu           # CIFAR-10 on one CUDA GPU

Per method and seed it trains with the `diffuse` CLI, reconstructs the post-hoc EMA at a fixed
sigma_rel at each evaluation point (`diffuse phema --nimg`), measures FD_cls / KID_cls / precision /
recall / SWD (`diffuse eval`), reads the validation loss from stats.jsonl, and measures the
consistency between seeds of one method (`diffuse consistency`). It writes results.md (mean +- std over
seeds, images needed to reach 1.1 x the baseline's final FD_cls), curves as .dat files and, when
gnuplot is installed, PNG plots. Needs python3 (standard library only) and a built tree; the CIFAR-10
scales also need Pillow (Debian python3-pil) once, to turn the JPEG archive into PNG folders, and train
their feature classifier once with build/bin/train_feature_classifier.
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
CIFAR10_ARCHIVE = os.path.join(os.path.dirname(ROOT), "shared", "data", "cifar10", "cifar10_jpg.tar.xz")
CIFAR10_MODEL = ("img_resolution: 32 img_channels: 3 label_dim: 10 model_channels: %d channel_mult: [1, 2, 2] "
                 "num_blocks: %d attn_resolutions: [16, 8] %s")

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
    # The GPU variant: CIFAR-10 with the 16 M-parameter model of samples/configs/cifar10-img32-gpu
    # (fp16), 10 k steps of batch 512 per run.
    "cifar10-gpu": dict(
        dataset="cifar10", device="cuda", model=CIFAR10_MODEL % (128, 2, "precision: PRECISION_FP16"),
        resize="PAD", batch=512, images=5120000, eval_every=1024000, eval_images=5000, steps=32,
        ref_batches=10000, rampup=1000000, patience=2000, validation_images=1024, workers=8),
    # A CPU check of the CIFAR-10 pipeline (data preparation, classifier, RGB model), not a measurement.
    "cifar10-smoke": dict(
        dataset="cifar10", model=CIFAR10_MODEL % (16, 1, "channels_per_head: 32 logvar_channels: 16"),
        resize="PAD", batch=32, images=2048, eval_every=1024, eval_images=40, steps=4,
        ref_batches=16, rampup=256, patience=5, classifier_epochs=1),
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
            # Control: SGD_EQUIVALENT ends at 5x the learning rate; is its gain the momentum decay or the step?
            ("edm2-lr5x", "", "", "ref_lr: 0.05"),
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
        # Each method at its default (MDLRC's compensation: NONE since the medium-scale defaults run).
        ("combined", clusters, "weighting: MIN_SNR snr_gamma: 5 uncertainty: false", mdlrc("NONE")),
    ]


def data_sources(scale, data_dir):
    """(train, held-out) DataSource text of a scale's dataset."""
    if SCALES[scale].get("dataset") == "cifar10":
        return (f'format: PNG_FOLDER path: "{data_dir}/train"', f'format: PNG_FOLDER path: "{data_dir}/test"')
    idx = lambda split: (f'format: IDX path: "{FASHION}/{split}-images-idx3-ubyte.gz" '
                         f'labels_path: "{FASHION}/{split}-labels-idx1-ubyte.gz"')
    return idx("train"), idx("t10k")


def prepare_cifar10(data_dir, archive, cli_dir, epochs):
    """Unpacks the CIFAR-10 JPEG archive into PNG folders (once) and trains its feature classifier (once).

    train/<class>/NNNN.png keeps one sub-folder per class (the loader shuffles). The test set is written
    flat in a fixed random order with its labels in dataset.json, because `diffuse eval` compares against
    the first num_images reference images and a class-sorted folder would give it only the first classes.
    Returns the classifier's path."""
    classifier = os.path.join(data_dir, f"cifar10-classifier-{epochs}epochs.safetensors")
    if not os.path.isdir(os.path.join(data_dir, "test")):
        import random
        import tarfile
        try:
            from PIL import Image
        except ImportError:
            sys.exit("the CIFAR-10 scales need Pillow once to convert the JPEG archive: apt-get install python3-pil")
        if not os.path.exists(archive):
            sys.exit(f"{archive}: CIFAR-10 archive not found (--cifar10-archive)")
        staging = data_dir + ".partial"
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(staging)
        test = []
        with tarfile.open(archive) as tar:
            for member in tar:
                if not member.isfile() or not member.name.endswith(".jpg"):
                    continue
                split, label, name = member.name.split("/")[-3:]
                image = Image.open(tar.extractfile(member)).convert("RGB")
                if split == "train":
                    os.makedirs(os.path.join(staging, "train", label), exist_ok=True)
                    image.save(os.path.join(staging, "train", label, name[:-4] + ".png"))
                else:
                    test.append((label, name, image))
        classes = sorted({label for label, _, _ in test})
        test.sort(key=lambda t: (t[0], t[1]))
        random.Random(0).shuffle(test)
        os.makedirs(os.path.join(staging, "test"))
        labels = []
        for i, (label, _, image) in enumerate(test):
            image.save(os.path.join(staging, "test", f"{i:05d}.png"))
            labels.append([f"{i:05d}.png", classes.index(label)])
        with open(os.path.join(staging, "test", "dataset.json"), "w") as f:
            json.dump({"labels": labels}, f)
        os.rename(staging, data_dir)
        print(f"wrote {data_dir}/train and {data_dir}/test ({len(test)} test images)", flush=True)
    if not os.path.exists(classifier):
        print("training the CIFAR-10 feature classifier (once)", flush=True)
        print(run([os.path.join(cli_dir, "train_feature_classifier"), "--threads", str(os.cpu_count() or 1),
                   "--epochs", str(epochs), "--png",
                   os.path.join(data_dir, "train"), os.path.join(data_dir, "test"), classifier]), flush=True)
    return classifier


def train_config(scale, noise, loss, momentum, out_dir, seed, threads, data_dir):
    s = SCALES[scale]
    train, validation = data_sources(scale, data_dir)
    return f"""model {{ {s['model']} }}
data {{
  train {{ {train} }}
  validation {{ {validation} }}
  resize: {s['resize']} num_workers: {s.get('workers', 2)} xflip: {'true' if s.get('dataset') == 'cifar10' else 'false'}
}}
noise {{ {noise} }}
loss {{ {loss} }}
optimizer {{ {'' if 'ref_lr:' in momentum else 'ref_lr: 0.01'} ref_batches: {s['ref_batches']} rampup_images: {s['rampup']} {momentum} }}
ema {{ sigma_rels: [0.05, 0.10] snapshot_images: {s['eval_every']} snapshot_dtype: FP32 }}
run {{
  output_dir: "{out_dir}" seed: {seed} batch_size: {s['batch']} duration_images: {s['images']}
  status_images: {s['eval_every'] // 4} validation_interval_images: {s['eval_every'] // 2}
  validation_images: {s.get('validation_images', 256)} checkpoint_images: 0 threads: {threads}
  device: "{s.get('device', 'cpu')}"
}}
"""


def eval_config(scale, data_dir, classifier):
    s = SCALES[scale]
    return f"""reference {{ {data_sources(scale, data_dir)[1]} }}
resize: {s['resize']}
classifier: "{classifier}"
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
    parser.add_argument("--data", default=os.path.join(ROOT, "runs", "bench-convergence", "cifar10-data"),
                        help="where the CIFAR-10 scales keep the converted dataset and its classifier")
    parser.add_argument("--cifar10-archive", default=CIFAR10_ARCHIVE)
    parser.add_argument("--report", metavar="DIR", help="only rewrite the table and plots from DIR/results.json")
    parser.add_argument("--merge", nargs="+", metavar="DIR",
                        help="join the runs of several results.json of one scale into --out, then report")
    args = parser.parse_args()
    if args.report:
        return report(args.report)
    if args.merge:
        return merge(args.merge, args.out)
    scale = SCALES[args.scale]
    suffix = args.scale if args.matrix == "methods" else f"{args.scale}-{args.matrix}"
    out_dir = args.out or os.path.join(ROOT, "bench", "results", f"convergence-{suffix}")
    args.work = os.path.join(args.work, suffix)
    os.makedirs(out_dir, exist_ok=True)
    os.makedirs(args.work, exist_ok=True)
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", DIFFUSE_LOG_LEVEL="warn")
    chosen = [m for m in methods(args.scale, args.matrix) if not args.methods or m[0] in args.methods.split(",")]
    eval_points = list(range(scale["eval_every"], scale["images"] + 1, scale["eval_every"]))
    classifier = os.path.join(ROOT, "metrics", "fashion-mnist-classifier.safetensors")
    if scale.get("dataset") == "cifar10":
        classifier = prepare_cifar10(args.data, args.cifar10_archive, os.path.dirname(args.cli),
                                     scale.get("classifier_epochs", 6))
    eval_path = os.path.join(args.work, "eval.textproto")
    with open(eval_path, "w") as f:
        f.write(eval_config(args.scale, args.data, classifier))
    device = ["--device", scale["device"]] if "device" in scale else []

    def train_and_evaluate(name, noise, loss, momentum, seed):
        run_dir = os.path.join(args.work, f"{name}-seed{seed}")
        shutil.rmtree(run_dir, ignore_errors=True)
        config = os.path.join(args.work, f"{name}-seed{seed}.textproto")
        with open(config, "w") as f:
            f.write(train_config(args.scale, noise, loss, momentum, run_dir, seed, threads, args.data))
        t0 = time.time()
        run([args.cli, "train", config], env=env)
        train_seconds = time.time() - t0
        curve = []
        for nimg in eval_points:
            phema_dir = os.path.join(run_dir, "phema")
            run([args.cli, "phema", run_dir, "--sigma-rel", "0.075", "--nimg", str(nimg), "--out", phema_dir,
                 "--fp32", "--force"], env=env)
            model = os.path.join(phema_dir, f"phema-0.075-{nimg // 1000:07d}.safetensors")
            metrics = parse_metrics(run([args.cli, "eval", model, eval_path] + device, env=env))
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
        (f" --methods {args.methods}" if args.methods else "") + (f" --jobs {args.jobs}" if args.jobs > 1 else "") + \
        (f" --out {args.out}" if args.out else "")
    record = dict(
        scale=args.scale, matrix=args.matrix, seeds=args.seeds, command=command, commit=commit,
        date=time.strftime("%Y-%m-%d"), machine=f"{platform.machine()} with {os.cpu_count()} cores",
        wall_seconds=time.time() - started, consistency=consistency,
        runs={name: [dict(seed=r["seed"], curve=r["curve"], validation=r["validation"],
                          train_seconds=r["train_seconds"]) for r in runs] for name, runs in results.items()})
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(record, f, indent=1)
    report(out_dir)


def merge(dirs, out_dir):
    """One results.json from several of the same scale (e.g. a second run that added methods); a method
    present in several keeps its first occurrence, so the baseline's seeds are never mixed."""
    if not out_dir:
        sys.exit("--merge needs --out")
    records = []
    for d in dirs:
        with open(os.path.join(d, "results.json")) as f:
            records.append(json.load(f))
    if len({r["scale"] for r in records}) != 1 or len({r["seeds"] for r in records}) != 1:
        sys.exit("--merge: the results differ in scale or seed count")
    merged = dict(records[0], matrix="+".join(dict.fromkeys(r["matrix"] for r in records)),
                  command="; ".join([r["command"] for r in records] +
                                    [f"python3 bench/convergence/run.py --merge {' '.join(dirs)} --out {out_dir}"]),
                  commit=", ".join(dict.fromkeys(r["commit"] for r in records)),
                  date=max(r["date"] for r in records), wall_seconds=sum(r["wall_seconds"] for r in records),
                  runs={}, consistency={})
    for r in records:
        for name, runs in r["runs"].items():
            if name not in merged["runs"]:
                merged["runs"][name] = runs
                if name in r["consistency"]:
                    merged["consistency"][name] = r["consistency"][name]
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(merged, f, indent=1)
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

    def mean_curve(runs, key):
        """[(nimg, mean over seeds)] of FD_cls ("fd") or of the validation loss ("val")."""
        if key == "val":
            return [(nimg, statistics.mean(r["validation"][i][1] for r in runs))
                    for i, (nimg, _) in enumerate(runs[0]["validation"])]
        return [(nimg, statistics.mean(r["curve"][i][1]["fd_cls"] for r in runs)) for i, nimg in enumerate(eval_points)]

    # The mean curves, for plotting.
    for name, runs in results.items():
        for key in ("fd", "val"):
            with open(os.path.join(out_dir, f"{name}.{key}.dat"), "w") as f:
                f.writelines(f"{nimg} {value:.6g}\n" for nimg, value in mean_curve(runs, key))

    baseline = results.get("edm2")
    fd_target = 1.1 * mean_curve(baseline, "fd")[-1][1] if baseline else None
    val_target = mean_curve(baseline, "val")[-1][1] if baseline else None
    base_fd_reach = images_to_reach(mean_curve(baseline, "fd"), fd_target) if baseline else None
    base_val_reach = images_to_reach(mean_curve(baseline, "val"), val_target) if baseline else None
    final_fd = lambda runs: [r["curve"][-1][1]["fd_cls"] for r in runs]
    final_val = lambda runs: [r["validation"][-1][1] for r in runs]

    def fmt_t(name, values, base):
        if name == "edm2":
            return "—"
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
            name, mean_std(final_fd(runs)), fmt_t(name, final_fd(runs), baseline and final_fd(baseline)),
            mean_std([m["kid_cls"] for m in final]), mean_std([m["precision"] for m in final]),
            mean_std([m["recall"] for m in final]), mean_std([m["swd"] for m in final]),
            mean_std(final_val(runs)), fmt_t(name, final_val(runs), baseline and final_val(baseline)),
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
