#!/usr/bin/env bash
# Data-parallel throughput on this machine: the same run (global batch, model, data) as 1 process with
# T threads and as P processes with T/P threads each (diffuse train --nproc), with the share of step
# time spent in all-reduce. Prints a table; a benchmark, not a test.
#   bench/dist/run.sh [BUILD_DIR] [OUT_DIR]      (THREADS=2 PROCS="1 2" KIMG=4 by default)
set -euo pipefail
build=${1:-build}
out=${2:-$(mktemp -d)}
cli=$build/bin/diffuse
threads=${THREADS:-2}
procs=${PROCS:-1 2}
images=$(( ${KIMG:-4} * 1024 ))
data=${DIFFUSE_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
export OMP_WAIT_POLICY=passive
mkdir -p "$out"

config() {  # config RUN_DIR THREADS
  cat <<CONFIG
model { img_resolution: 32 img_channels: 1 label_dim: 10 model_channels: 32 channel_mult: [1, 2, 2]
        num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 32 }
data { train { format: IDX path: "$data/train-images-idx3-ubyte.gz"
               labels_path: "$data/train-labels-idx1-ubyte.gz" } }
optimizer { rampup_images: 1024 }
ema { snapshot_images: 0 }
run { output_dir: "$1" batch_size: 64 duration_images: $images status_images: 1024 checkpoint_images: 0
      validation_interval_images: 0 threads: $2 }
CONFIG
}

printf '%-22s %10s %10s %12s %10s\n' "processes x threads" "img/s" "s/step" "all-reduce" "vs 1 proc"
baseline=
for p in $procs; do
  t=$((threads / p))
  [ "$t" -ge 1 ] || continue
  run="$out/p$p"
  rm -rf "$run"
  config "$run" "$t" >"$out/p$p.textproto"
  if [ "$p" -eq 1 ]; then
    "$cli" train "$out/p$p.textproto" >"$out/p$p.log" 2>&1
  else
    "$cli" train --nproc "$p" "$out/p$p.textproto" >"$out/p$p.log" 2>&1
  fi
  # The last status line: throughput over the whole run; the all-reduce share of its last interval.
  read -r ips sps comm < <(python3 -c "
import json, sys
lines = [json.loads(l) for l in open('$run/stats.jsonl') if 'loss' in l]
last = lines[-1]
print(last['images_per_second'], last['seconds_per_step'], last.get('communication_fraction', 0.0))")
  [ -n "$baseline" ] || baseline=$ips
  printf '%-22s %10.1f %10.3f %11.1f%% %9.2fx\n' "$p x $t" "$ips" "$sps" "$(python3 -c "print(100 * $comm)")" \
    "$(python3 -c "print($ips / $baseline)")"
done
