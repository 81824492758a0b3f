#!/usr/bin/env python3
"""bench/gpu/table.py on RESULT lines in the formats train_bench, sample_bench and reference_mpunet.py
print: the speed-ups over the reference at the same precision (and batch), each lever's effect, and the
JSON records of bench/gpu/results/. A GPU run has one try; its tables must not be what fails.

  gpu_tables_test.py SOURCE_DIR"""
import json
import os
import subprocess
import sys
import tempfile

# train_bench / sample_bench (printf) and reference_mpunet.py (print), as they write them.
LOGS = {
    "train_diffuse_fp16.log": "RESULT impl=diffuse-trainer precision=fp16 batch=256 micro=128 images_per_s=1500.0 "
                              "ms_per_step=170.67 peak_bytes=16106127360 loss=1.3391\n",
    "train_diffuse_bf16.log": "noise before\nRESULT impl=diffuse-trainer precision=bf16 batch=256 micro=128 "
                              "images_per_s=1200.0 ms_per_step=213.33 peak_bytes=17179869184 loss=1.3390\n",
    "train_python_eager_fp16.log": "RESULT impl=python-eager precision=fp16 batch=256 micro=128 images_per_s=600.0 "
                                   "ms_per_step=426.67 warmup_s=7.9 peak_bytes=23085449216 loss=1.3395\n",
    "train_python_compiled_fp16.log": "RESULT impl=python-compiled precision=fp16 batch=256 micro=128 "
                                      "images_per_s=1000.0 ms_per_step=256.00 warmup_s=17.0 peak_bytes=19112604672 "
                                      "loss=1.3395\n",
    "train_python_compiled_bf16.log": "RESULT impl=python-compiled precision=bf16 batch=256 micro=128 "
                                      "images_per_s=800.0 ms_per_step=320.00 warmup_s=17.0 peak_bytes=19112604672 "
                                      "loss=1.3395\n",
    "train_diffuse_fp16_without_cuda-graphs.log": "RESULT impl=diffuse-trainer-without-cuda-graphs precision=fp16 "
                                                  "batch=256 micro=128 images_per_s=1250.0 ms_per_step=204.80 "
                                                  "peak_bytes=16106127360 loss=1.3391\n",
    "sample_diffuse_b64.log": "RESULT impl=diffuse-sampler precision=fp16 batch=64 steps=32 images_per_s=640.0 "
                              "ms_per_batch=100.00 peak_bytes=1073741824 mean=-0.0123\n",
    "sample_diffuse_b1.log": "RESULT impl=diffuse-sampler precision=fp16 batch=1 steps=32 images_per_s=40.0 "
                             "ms_per_batch=25.00 peak_bytes=536870912 mean=0.0100\n",
    "sample_python_b64.log": "RESULT impl=python-sampler precision=fp16 batch=64 steps=32 images_per_s=160.00 "
                             "ms_per_batch=400.00 peak_bytes=2147483648 mean=-0.0123\n",
    "sample_python_b1.log": "RESULT impl=python-sampler precision=fp16 batch=1 steps=32 images_per_s=10.00 "
                            "ms_per_batch=100.00 peak_bytes=1073741824 mean=0.0100\n",
    "sample_diffuse_b1_without_cuda-graphs.log": "RESULT impl=diffuse-sampler-without-cuda-graphs precision=fp16 "
                                                 "batch=1 steps=32 images_per_s=20.0 ms_per_batch=50.00 "
                                                 "peak_bytes=536870912 mean=0.0100\n",
    # A stage that failed leaves a log without a RESULT line.
    "train_python_eager_bf16.log": "RuntimeError: CUDA out of memory\n",
}

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)


def row(table, *cells):
    """The markdown row of `table` whose leading cells are `cells`."""
    prefix = "| " + " | ".join(cells) + " |"
    found = [line for line in table.splitlines() if line.startswith(prefix)]
    check(len(found) == 1, f"one row starting {prefix!r}, found {len(found)}")
    return [c.strip() for c in found[0].strip("|").split("|")] if found else []


def main():
    table_py = os.path.join(sys.argv[1], "bench", "gpu", "table.py")
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, text in LOGS.items():
            paths.append(os.path.join(tmp, name))
            with open(paths[-1], "w") as f:
                f.write(text)
        records_path = os.path.join(tmp, "results.json")
        run = subprocess.run([sys.executable, table_py, *paths, "--json", records_path, "--card", "NVIDIA H100 80GB HBM3",
                              "--driver", "580.159.04", "--torch", "2.11.0+cu130", "--commit", "abc1234",
                              "--date", "2026-12-07"], capture_output=True, text=True)
        check(run.returncode == 0, f"table.py exit {run.returncode}: {run.stderr}")
        table = run.stdout
        # Training, its levers, sampling, its levers: tables apart by a blank line.
        train, train_levers, sample, sample_levers = (table.split("\n\n") + ["", "", "", ""])[:4]
        with open(records_path) as f:
            records = json.load(f)

        # Training: 1500 / 1000 compiled, 1500 / 600 eager; bf16 has no eager row.
        check(row(train, "diffuse-trainer", "fp16")[2:] == ["256 (128)", "1500", "170.7", "15.0", "1.50x", "2.50x"],
              "fp16 trainer row")
        check(row(train, "diffuse-trainer", "bf16")[-2:] == ["1.50x", "n/a"], "bf16 trainer row")
        check(row(train, "python-compiled", "fp16")[-2:] == ["1.00x", "1.67x"], "compiled reference row")
        # Levers: the full trainer's images/s over the row without the lever.
        check(row(train_levers, "cuda-graphs", "fp16")[2:] == ["1250.0", "1500.0", "1.20x"], "training lever row")
        check(row(sample_levers, "cuda-graphs", "fp16", "1")[3:] == ["20.0", "40.0", "2.00x"], "sampling lever row")
        # Sampling, against the reference sampler at the same batch.
        check(row(sample, "diffuse-sampler", "fp16", "64")[-1] == "4.00x", "sampling batch 64 row")
        check(row(sample, "diffuse-sampler", "fp16", "1")[-1] == "4.00x", "sampling batch 1 row")

        # One record per RESULT line, in the fields of bench/gpu/results/.
        check(len(records) == sum(text.count("RESULT ") for text in LOGS.values()), f"{len(records)} records")
        fields = {"implementation", "task", "precision", "batch", "images_per_second", "peak_memory_bytes", "card",
                  "driver", "torch", "commit", "date"}
        for record in records:
            check(fields <= record.keys(), f"record fields {sorted(record)}")
        trainer = [r for r in records if r["implementation"] == "diffuse-trainer" and r["precision"] == "fp16"]
        check(len(trainer) == 1 and trainer[0]["task"] == "train" and trainer[0]["batch"] == 256
              and trainer[0]["micro_batch"] == 128 and trainer[0]["images_per_second"] == 1500.0
              and trainer[0]["peak_memory_bytes"] == 16106127360 and trainer[0]["card"] == "NVIDIA H100 80GB HBM3"
              and trainer[0]["commit"] == "abc1234", f"trainer record {trainer}")
        sampler = [r for r in records if r["implementation"] == "diffuse-sampler" and r["batch"] == 1]
        check(len(sampler) == 1 and sampler[0]["task"] == "sample" and sampler[0]["heun_steps"] == 32,
              f"sampler record {sampler}")

        # Nothing to read: a non-zero exit, not an empty table.
        empty = subprocess.run([sys.executable, table_py, os.path.join(tmp, "train_python_eager_bf16.log")],
                               capture_output=True, text=True)
        check(empty.returncode != 0, "table.py without RESULT lines exits 0")

    for failure in failures:
        print("FAIL", failure)
    if failures:
        print(table)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
