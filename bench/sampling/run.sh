#!/usr/bin/env bash
# CPU sampling speed: the diffuse sampler (through the C API) beside the Python sampler of the same
# network (bench/gpu/reference_mpunet.py, EDM's Heun loop in PyTorch) on the same LibTorch, in one run;
# prints the table with the ratio and how far the images differ (bench/sampling/README.md).
#   bench/sampling/run.sh [BUILD_DIR] [OUT_DIR]
# BUILD_DIR: a build against the PyTorch wheel with -DDIFFUSE_BENCH=ON (make build-wheel makes one in
# build-torch-wheel); the Python side runs that wheel's torch (scripts/setup-torch-wheel's venv, or
# $PYTHON). Environment: THREADS (2), BATCH (32), STEPS (32), REPEATS (3).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build-torch-wheel}" && pwd)
out=${2:-$(mktemp -d /tmp/diffuse-sampling-XXXXXX)}
mkdir -p "$out"
py=${PYTHON:-${DIFFUSE_TORCH_VENV:-$HOME/.cache/diffuse/torch-2.11.0}/bin/python}
threads=${THREADS:-2} batch=${BATCH:-32} steps=${STEPS:-32} repeats=${REPEATS:-3}
data=${DIFFUSE_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}

# A class-conditional Fashion-MNIST model of about 1.7 M parameters, trained a few steps (the weights do
# not change the speed); its EMA snapshot is a model file both samplers read.
cat >"$out/model.textproto" <<CONFIG
model { img_resolution: 32 img_channels: 1 label_dim: 10 model_channels: 32 channel_mult: [1, 2, 2]
        num_blocks: 2 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 32 }
data { train { format: IDX path: "$data/train-images-idx3-ubyte.gz" labels_path: "$data/train-labels-idx1-ubyte.gz" }
       resize: PAD }
ema { snapshot_images: 1024 }
run { output_dir: "$out/run" batch_size: 64 duration_images: 1024 status_images: 1024 checkpoint_images: 0
      validation_interval_images: 0 threads: $threads }
CONFIG
rm -rf "$out/run"
"$build/bin/diffuse" train "$out/model.textproto" >"$out/train.log"
model=$(ls "$out"/run/ema-0.100-*.safetensors | tail -1)
"$build/bin/diffuse" info "$model" | grep -i param | tee "$out/info.txt"

export OMP_NUM_THREADS=$threads
# The sampler as shipped (the batch split over one single-threaded worker per thread), the same in one
# call with intra-op threads, and the Python sampler with the same per-seed noise: the same images.
"$build/bench/sampling/sample_bench" "$model" --threads "$threads" --batch "$batch" --steps "$steps" \
  --repeats "$repeats" --save "$out/diffuse.f32" | tee "$out/diffuse.log"
"$build/bench/sampling/sample_bench" "$model" --threads "$threads" --batch "$batch" --steps "$steps" \
  --repeats "$repeats" --cpu-workers 1 --save "$out/diffuse-one-call.f32" | tee "$out/diffuse-one-call.log"
"$py" "$root/bench/gpu/reference_mpunet.py" sample --device cpu --precision fp32 --model "$model" \
  --threads "$threads" --batch "$batch" --steps "$steps" --repeats "$repeats" --warmup 1 \
  --diffuse-seeds --save "$out/python.f32" | tee "$out/python.log"
"$py" "$root/bench/gpu/table.py" "$out/diffuse.log" "$out/diffuse-one-call.log" "$out/python.log" | tee "$out/table.md"
"$py" "$root/bench/sampling/compare_images.py" "$out/python.f32" "$out/diffuse.f32" "$out/diffuse-one-call.f32" \
  | tee "$out/images.txt"
echo "logs in $out"
