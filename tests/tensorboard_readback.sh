#!/usr/bin/env bash
# TensorBoard's own reader (the PyPI tensorboard, from scripts/setup-test-python) reads a short run's
# event files: the scalars equal stats.jsonl, the images the sample grids, across a resume from an
# earlier checkpoint (the newest is deleted, as if the run had died before writing it), after which
# TensorBoard must drop what the first session wrote past that checkpoint.
#   tensorboard_readback.sh CLI PYTHON
set -euo pipefail
cli=$1 python=$2
source "$(dirname "$0")/tiny_config.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_WAIT_POLICY=passive

tiny_config "output_dir: \"$work/run\" batch_size: 32 duration_images: 2048 status_images: 256
  checkpoint_images: 1024 keep_checkpoints: 4 validation_images: 32 validation_interval_images: 1024
  sample_grid_images: 1024 threads: 2 device: \"${DIFFUSE_TEST_DEVICE:-cpu}\"" >"$work/tiny.textproto"
"$cli" train "$work/tiny.textproto" >"$work/train.log" 2>&1 || { cat "$work/train.log"; exit 1; }
rm "$work/run/checkpoint-0000002.safetensors"
"$cli" train --resume "$work/run" >"$work/resume.log" 2>&1 || { cat "$work/resume.log"; exit 1; }
grep -q "resumed .* at 1024 images" "$work/run/log.txt" || { echo "FAIL: not resumed at 1024 images"; cat "$work/resume.log"; exit 1; }
"$python" "$(dirname "$0")/tensorboard_reader.py" "$work/run" 1024
echo "event files: $(stat -c '%s bytes' "$work"/run/events.out.tfevents.* | paste -sd ' ')"
