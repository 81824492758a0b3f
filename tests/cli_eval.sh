#!/usr/bin/env bash
# `diffuse eval` from outside the repository: an EvalConfig's relative paths are relative to its own
# file, the classifier is found in the library's data directories, progress goes to stderr, resize
# defaults to the training run's and a different one is warned about, KID's scale is stated, and a
# classifier found nowhere is named with every place looked in.
set -euo pipefail
cli=$1
source "$(dirname "$0")/tiny_config.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_WAIT_POLICY=passive
fail() { echo "FAIL: $*"; cat "$work/err.txt" 2>/dev/null || true; exit 1; }

tiny_config "output_dir: \"$work/run\" batch_size: 32 duration_images: 2048 status_images: 1024
             checkpoint_images: 1024 validation_images: 32 threads: 2" >"$work/train.textproto"
"$cli" train "$work/train.textproto" >"$work/train.log" 2>&1 || { cat "$work/train.log"; fail "training"; }
"$cli" phema "$work/run" --sigma-rel 0.1 --out "$work/run/phema" >/dev/null 2>&1 || fail "post-hoc EMA"
model=$(ls "$work"/run/phema/phema-*.safetensors)

# The config and its data in their own directory, named relative to it; run from another one.
mkdir -p "$work/eval/data" "$work/elsewhere"
ln -s "$data/t10k-images-idx3-ubyte.gz" "$work/eval/data/images.gz"
ln -s "$data/t10k-labels-idx1-ubyte.gz" "$work/eval/data/labels.gz"
cat >"$work/eval/quality.textproto" <<EVAL
reference { format: IDX path: "data/images.gz" labels_path: "data/labels.gz" }
classifier: "metrics/fashion-mnist-classifier.safetensors"
num_images: 40 k: 2 sampler { num_steps: 4 }
EVAL
cd "$work/elsewhere"
"$cli" eval "$model" ../eval/quality.textproto >"$work/out.txt" 2>"$work/err.txt" || fail "eval from another directory"
grep -q "^FD_cls " "$work/out.txt" || fail "no FD_cls in: $(cat "$work/out.txt")"
grep -q "^# KID_cls is the unbiased MMD^2 itself" "$work/out.txt" || fail "KID_cls without its scale"
grep -q "evaluate: sampled 40/40 images" "$work/err.txt" || fail "no progress on stderr"
grep -q "with the training's resize RESIZE ($work/run/config.textproto)" "$work/err.txt" || fail "resize not the training's"
grep -q "classifier .*/metrics/fashion-mnist-classifier.safetensors" "$work/err.txt" || fail "classifier not named"
if grep -q warning "$work/err.txt"; then fail "a warning for a config that matches the training"; fi

# A resize other than the training's: the numbers come, with a warning saying why they differ.
echo "resize: PAD" >>"$work/eval/quality.textproto"
"$cli" eval "$model" ../eval/quality.textproto >"$work/pad.txt" 2>"$work/err.txt" || fail "eval with PAD"
grep -q "EvalConfig.resize PAD differs from the RESIZE the model was trained with" "$work/err.txt" || fail "no resize warning"
cmp -s "$work/out.txt" "$work/pad.txt" && fail "PAD and RESIZE gave the same numbers"

# A classifier found nowhere: exit 1, every place looked in named.
sed -i 's|metrics/fashion-mnist-classifier|metrics/no-such-classifier|' "$work/eval/quality.textproto"
status=0
"$cli" eval "$model" ../eval/quality.textproto >/dev/null 2>"$work/err.txt" || status=$?
[ $status -eq 1 ] || fail "a missing classifier exited $status"
grep -q "EvalConfig.classifier: metrics/no-such-classifier.safetensors not found (looked for $work/eval/metrics/no-such-classifier.safetensors, " \
  "$work/err.txt" || fail "the places looked in are not named"
echo "eval: paths relative to the config, classifier found, progress, resize default and warning, KID scale"
