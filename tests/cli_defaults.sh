#!/usr/bin/env bash
# Defaults serve a user who sets only model, data and duration: the run warms up within its budget and
# its loss falls, it writes status lines and EMA snapshots at several times, and post-hoc EMA and
# sampling work on what it wrote.
set -euo pipefail
cli=$1
data=${DIFFUSE_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_WAIT_POLICY=passive
fail() { echo "FAIL: $*"; exit 1; }

cat >"$work/minimal.textproto" <<CONFIG
model { img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2]
        num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16 }
data { train { format: IDX path: "$data/train-images-idx3-ubyte.gz" labels_path: "$data/train-labels-idx1-ubyte.gz" }
       resize: RESIZE }
run { output_dir: "$work/run" duration_images: 16384 }
CONFIG
"$cli" train "$work/minimal.textproto" >"$work/train.log" 2>&1 || { cat "$work/train.log"; fail "training"; }

python3 - "$work/run/stats.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
status = [l for l in lines if "loss" in l]
assert len(status) >= 4, f"only {len(status)} status lines"
first, last = status[0], status[-1]
assert last["lr"] == 0.01, f"the learning rate ends at {last['lr']}, not ref_lr 0.01: the warm-up outlasted the run"
assert last["loss"] < 0.8 * first["loss"], f"the loss did not fall: {first['loss']} -> {last['loss']}"
print(f"{len(status)} status lines; loss {first['loss']:.3f} -> {last['loss']:.3f}; lr {last['lr']}")
PY
snapshots=$(ls "$work/run"/ema-0.100-*.safetensors | wc -l)
[ "$snapshots" -ge 4 ] || fail "only $snapshots snapshot times"
"$cli" phema "$work/run" --sigma-rel 0.075 --out "$work/phema" >"$work/phema.log" 2>&1 || { cat "$work/phema.log"; fail "post-hoc EMA"; }
model=$(ls "$work"/phema/phema-0.075-*.safetensors)
"$cli" sample "$model" --seeds 0-9 --class-rows --steps 8 --out "$work/grid.png" >/dev/null || fail "sampling"
echo "minimal config: $snapshots snapshot times, $(grep -o 'residual [0-9.e-]*' "$work/phema.log")"
