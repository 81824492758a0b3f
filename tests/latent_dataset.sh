#!/usr/bin/env bash
# A LATENT_FOLDER dataset as EDM2's dataset_tool.py encode writes one (00000/img-mean-std-00000000.npy,
# float32 [8, R, R]: 4 posterior means, then 4 standard deviations; dataset.json with the labels), the
# arrays written by NumPy's np.save: training from its zip archive equals training from the folder bit
# for bit, though the archive holds each array in another of the encodings NumPy writes (float64,
# Fortran order and format 2.0, an extra leading axis), and so does a run stopped and resumed (and, to
# the all-reduce's rounding, one on 2 processes); the model's samples come out as .npy (`diffuse sample
# --out x.npy`); a model of another shape is refused naming the dataset and both shapes.
# Usage: latent_dataset.sh CLI SAFETENSORS_EQUAL PYTHON_WITH_NUMPY
set -euo pipefail
cli=$1 equal=$2 python=$3
source "$(dirname "$0")/tiny_config.sh"
source "$(dirname "$0")/dataset_runs.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_WAIT_POLICY=passive
fail() { echo "FAIL: $*"; exit 1; }

"$python" - "$data" "$work/folder" "$work/data.zip" <<'PY'
import gzip, io, json, os, struct, sys, zipfile
import numpy as np
data, folder, archive = sys.argv[1:]
images = gzip.open(os.path.join(data, "train-images-idx3-ubyte.gz")).read()
labels = gzip.open(os.path.join(data, "train-labels-idx1-ubyte.gz")).read()[8:]
count, rows, cols = struct.unpack(">III", images[4:16])
pixels = np.frombuffer(images[16:16 + 96 * rows * cols], np.uint8).reshape(96, rows, cols)[:, 6:22, 6:22]
raw_mean, raw_std = np.float32([5.81, 3.25, 0.12, -2.15]), np.float32([4.17, 4.62, 3.71, 3.28])
entries = []
with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as z:
    for i in range(96):
        x = pixels[i].astype(np.float32) / 127.5 - 1
        mean = raw_mean[:, None, None] + raw_std[:, None, None] * np.stack([x, -x, x * x, x[:, ::-1]]) * 0.9
        std = np.broadcast_to(np.float32([0.05, 0.1, 0.02, 0.2])[:, None, None], mean.shape)
        posterior = np.concatenate([mean, std]).astype(np.float32)
        name = "%05d/img-mean-std-%08d.npy" % (i // 64, i)
        entries.append([name, int(labels[i])])
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        np.save(path, posterior)
        f = io.BytesIO()
        if i % 4 == 0:
            np.save(f, posterior)
        elif i % 4 == 1:
            np.save(f, posterior.astype(np.float64))
        elif i % 4 == 2:
            np.lib.format.write_array(f, np.asfortranarray(posterior), version=(2, 0))
        else:
            np.save(f, posterior[None])
        z.writestr(name, f.getvalue())
    metadata = json.dumps({"labels": entries})
    z.writestr("dataset.json", metadata)
open(os.path.join(folder, "dataset.json"), "w").write(metadata)
PY

dataset_config LATENT_FOLDER "$work/folder" "$work/from-folder" 4 >"$work/folder.textproto"
dataset_config LATENT_FOLDER "$work/data.zip" "$work/from-zip" 4 >"$work/zip.textproto"
train_alike "latent zip archive = its folder" "$work/folder.textproto" "$work/zip.textproto"
grep -q "done: 1.0 kimg" "$work/zip.textproto.log" || { cat "$work/zip.textproto.log"; fail "the run did not finish"; }
! ls "$work/from-zip/samples"/*.png >/dev/null 2>&1 || fail "a latent run wrote a sample grid"

# Stopped by SIGTERM and resumed: the posterior samples follow the data stream, so the resumed run
# ends where the uninterrupted one did.
dataset_config LATENT_FOLDER "$work/data.zip" "$work/resumed" 4 >"$work/resumed.textproto"
"$cli" train "$work/resumed.textproto" >"$work/stopped.log" 2>&1 &
pid=$!
for _ in $(seq 600); do
  [ -f "$work/resumed/stats.jsonl" ] && [ "$(wc -l <"$work/resumed/stats.jsonl")" -ge 2 ] && break
  sleep 0.1
done
kill -TERM "$pid"
wait "$pid" || true
grep -q "stopped at" "$work/stopped.log" || { cat "$work/stopped.log"; fail "the run was not stopped by SIGTERM"; }
"$cli" train --resume "$work/resumed" >"$work/resume.log" 2>&1 || { cat "$work/resume.log"; fail "resuming"; }
out=$("$equal" "$work/from-zip" "$work/resumed" --ignore state.elapsed_seconds --ignore config) ||
  fail "the run differs after stop and resume: $out"
echo "$(grep -o 'stopped at [0-9.]* kimg' "$work/stopped.log"), resumed: $out"

# Two processes at the same global batch (Gloo on loopback): each rank samples its share of the
# posteriors at their positions, so the run follows the 1-process one (to the all-reduce's rounding).
dataset_config LATENT_FOLDER "$work/data.zip" "$work/two-ranks" 4 >"$work/two-ranks.textproto"
"$cli" train --nproc 2 "$work/two-ranks.textproto" >"$work/two-ranks.log" 2>&1 || { cat "$work/two-ranks.log"; fail "2 processes"; }
out=$("$equal" "$work/from-zip" "$work/two-ranks" --ignore state.elapsed_seconds --ignore config --tolerance 1e-3) ||
  fail "the 2-process run differs from the 1-process run: $out"
echo "2 processes: $out"

# The latent model's samples as .npy, read by NumPy: float32 [N, 4, 16, 16], finite, each sample a
# function of its seed alone (seeds 2-3 alone give the last two of 0-3).
snapshot=$(ls "$work/from-zip"/ema-0.100-*.safetensors | tail -1)
"$cli" sample "$snapshot" --seeds 0-3 --class 5 --steps 4 --out "$work/four.npy" >/dev/null
"$cli" sample "$snapshot" --seeds 2-3 --class 5 --steps 4 --out "$work/two.npy" >/dev/null
"$python" - "$work/four.npy" "$work/two.npy" <<'PY' || fail "the sampled .npy files"
import sys
import numpy as np
four, two = (np.load(path) for path in sys.argv[1:])
assert four.dtype == np.float32 and four.shape == (4, 4, 16, 16), (four.dtype, four.shape)
assert np.isfinite(four).all() and four.std() > 0.1, four.std()
assert np.array_equal(four[2:], two), abs(four[2:] - two).max()
assert not np.array_equal(four[0], four[1])
print("sampled latents:", four.shape, "std %.3f" % four.std())
PY
! ls "$work"/*.tmp-* >/dev/null 2>&1 || fail "a temporary file was left behind"
note=$("$cli" sample "$snapshot" --seeds 0-1 --steps 2 --out "$work/grid.png" 2>&1)
[[ $note == *"makes 4-channel samples"* ]] || fail "a PNG grid of latents without a note: $note"

dataset_config LATENT_FOLDER "$work/data.zip" "$work/wrong" 4 32 >"$work/wrong.textproto"
if "$cli" train "$work/wrong.textproto" >"$work/wrong.log" 2>&1; then fail "a 32x32 model trained on 16x16 latents"; fi
line=$(grep "^diffuse: " "$work/wrong.log") || { cat "$work/wrong.log"; fail "no error line"; }
[[ $line == *"TrainConfig.data.train: npy-zip:$work/data.zip"*" holds latents of [8, 16, 16]"*"[8, 32, 32]"* ]] ||
  fail "the error does not name the dataset and both shapes: $line"
echo "wrong model: $line"
