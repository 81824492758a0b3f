#!/bin/bash
# Runs the GPU training benchmark and prints the results table (bench/gpu/README.md).
#   bench/gpu/run.sh BUILD_DIR [STEPS]
# BUILD_DIR: a build configured with -DDIFFUSE_BENCH=ON against a CUDA LibTorch. Python: $PYTHON,
# else python3, with torch and safetensors. Each line of the table is one process, run one at a time.
set -u
build=${1:?usage: bench/gpu/run.sh BUILD_DIR [STEPS]}
steps=${2:-12}
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-python3}
log=$(mktemp /tmp/diffuse-bench.XXXXXX)
args="--steps $steps --warmup 3"
for precision in fp16 fp32; do
  "$build/bench/gpu/train_bench" --precision "$precision" $args | tee -a "$log"
  "$py" "$here/reference_mpunet.py" bench --precision "$precision" $args | tee -a "$log"
  "$py" "$here/reference_mpunet.py" bench --precision "$precision" --compile $args | tee -a "$log"
done
"$build/bench/gpu/train_bench" --precision fp16 --phases --steps 4 --warmup 2
"$py" "$here/table.py" "$log"
