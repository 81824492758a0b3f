#!/usr/bin/env bash
# The whole GPU job in one run, for a machine with a CUDA card, the PyTorch wheel and no network
# (bench/gpu/README.md): build against the wheel's LibTorch, run the core suite (parity tests on CUDA
# too) and the C API tests on CUDA, train, resume and sample on CUDA, compare a CUDA loss curve with
# the CPU's, benchmark training and sampling beside the Python reference (whose torch.compile warm-up
# runs beside the build), print the tables. On the
# first crash of a test binary it prints a backtrace (gdb, else cuda-gdb) of the crashing test, so one
# run always tells what went wrong.
#
#   bench/gpu/device-check.sh OUT_DIR
#
# Everything it writes goes under OUT_DIR: summary.txt (one line per stage, with its time and exit
# status), a log per stage, table.md and results.json (bench/gpu/results/ format), the CUDA sample grid
# and stats. Stages run in order of importance and are skipped, with a note, when the time budget
# cannot fit them; DIFFUSE_DEVICE_STAGES (comma-separated names) runs only those.
#
# Environment:
#   PYTHON                 a Python whose torch is a CUDA build (default /opt/torch/.venv/bin/python)
#   DIFFUSE_DEVICE_BUDGET  seconds for the whole run (default 570: under a 10-minute command limit)
#   DIFFUSE_CARRY          inputs from outside the checkout (default .device-carry, made by
#                          bench/gpu/prepare-carry.sh: golden tensors, Fashion-MNIST, the commit)
set -uo pipefail

out=${1:?usage: bench/gpu/device-check.sh OUT_DIR}
mkdir -p "$out" && out=$(cd "$out" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
start=$(date +%s)
budget=${DIFFUSE_DEVICE_BUDGET:-570}
stages=${DIFFUSE_DEVICE_STAGES:-}
carry=$(cd "${DIFFUSE_CARRY:-.device-carry}" 2>/dev/null && pwd) || carry=
py=${PYTHON:-/opt/torch/.venv/bin/python}
[[ -x $py ]] || py=$(command -v python3)
build=$root/build-gpu
jobs=$(nproc)
export out root py build jobs
export PATH="$(dirname "$py"):$PATH"   # the venv's cmake and ninja
export OMP_WAIT_POLICY=PASSIVE
if [[ -n $carry ]]; then
  export DIFFUSE_SHARED_DIR=$carry/shared DIFFUSE_FASHION_MNIST=$carry/fashion-mnist
fi

: >"$out/summary.txt"
elapsed() { echo $(($(date +%s) - start)); }
note() { echo "[$(printf '%4d' "$(elapsed)")s] $*" | tee -a "$out/summary.txt"; }
debugger=$(command -v gdb || command -v cuda-gdb || true)

# backtrace LOG [env VAR=VALUE...] BINARY ARGS...: reruns the test that crashed (the last one a gtest log
# started, else the whole command) under the debugger and appends the backtrace of every thread to LOG.bt.
backtrace() {
  local log=$1
  shift
  [[ -n $debugger ]] || { note "  no gdb or cuda-gdb for a backtrace"; return; }
  local vars=()
  if [[ $1 == env ]]; then
    shift
    while [[ $1 == *=* ]]; do vars+=("$1"); shift; done
  fi
  if [[ $1 == sharded ]]; then  # sharded NAME COMMAND...: the command alone, its crashed test below
    shift 2
    [[ $1 != env ]] || { backtrace "$log" "$@"; return; }
  fi
  if declare -F "$1" >/dev/null; then note "  $1 is a shell function: see its log for the binary that crashed"; return; fi
  local args=("$@") test
  test=$(grep -o '^\[ RUN      \] .*' "$log" | tail -1 | cut -c 14-)
  [[ -n $test ]] && args+=("--gtest_filter=$test")
  note "  backtrace of ${test:-$1} with $(basename "$debugger") -> $(basename "$log").bt"
  timeout 180 env "${vars[@]}" "$debugger" -batch -ex run -ex bt -ex 'thread apply all bt 12' -ex 'info sharedlibrary' \
    --args "${args[@]}" >"$log.bt" 2>&1
  grep -E '^#[0-9]+ ' "$log.bt" | head -25 | tee -a "$out/summary.txt"
}

# stage NAME SECONDS_NEEDED COMMAND...: runs COMMAND with its output in NAME.log, within what is left of
# the budget; skips it when fewer than SECONDS_NEEDED are left or DIFFUSE_DEVICE_STAGES leaves it out.
failed=0
selected() { [[ -z $stages || ",$stages," == *",$1,"* ]]; }
stage() {
  local name=$1 need=$2
  shift 2
  selected "$name" || return 0
  local left=$((budget - $(elapsed)))
  if ((left < need)); then
    note "SKIP $name: ${left}s left, needs ~${need}s"
    return 0
  fi
  local t0=$(date +%s) rc
  # Through bash, so that a stage may be one of the functions below (exported with export -f).
  timeout --kill-after=10 "$left" bash -c '"$@"' "$name" "$@" >"$out/$name.log" 2>&1
  rc=$?
  local took=$(($(date +%s) - t0))
  if ((rc == 0)); then
    note "ok   $name (${took}s)"
    # A lever that fell back (a pass that could not be captured as a CUDA graph) still exits 0: say so.
    if grep -q "could not be captured as a CUDA graph" "$out/$name.log"; then
      note "     $name: $(grep -m1 "could not be captured as a CUDA graph" "$out/$name.log" | cut -c 1-300)"
    fi
  else
    failed=$((failed + 1))
    note "FAIL $name (${took}s, exit $rc): $(grep -v '^\s*$' "$out/$name.log" | tail -1 | cut -c 1-200)"
    if ((rc > 128 && rc != 137)); then backtrace "$out/$name.log" "$@"; fi
  fi
  return 0
}

# --- the machine -----------------------------------------------------------------------------------
{
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1
  else
    echo "no nvidia-smi"
  fi
  "$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "gpus", torch.cuda.device_count())' 2>&1 | tail -1
  echo "cores $jobs; $(g++ --version | head -1); $(cmake --version | head -1)"
  echo "commit $(cat "$carry/commit" 2>/dev/null || git rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "debugger ${debugger:-none}; carry ${carry:-none}"
} >"$out/machine.txt"
cat "$out/machine.txt" | tee -a "$out/summary.txt"
card=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1) || card=
driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1) || driver=
torch_version=$("$py" -c 'import torch; print(torch.__version__)' 2>/dev/null)
commit=$(cat "$carry/commit" 2>/dev/null || git rev-parse --short HEAD 2>/dev/null || echo unknown)
"$py" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null ||
  note "WARN torch sees no CUDA device: every CUDA stage will fail"
[[ -n $carry ]] || note "WARN no $root/.device-carry: golden tensors and Fashion-MNIST are missing (bench/gpu/prepare-carry.sh)"

# --- the compiled reference's warm-up, beside the build -------------------------------------------------
# torch.compile's first step takes from 17 s (a warm cache) to 210 s (a fresh machine) per precision, too
# long to wait for in a 10-minute run. Each compiled reference starts now, warms up beside the build and
# the tests, waits (memory handed back), and runs its timed steps alone in its stage below, after the
# compiled_warmup stage has waited for every warm-up to end before the first benchmark.
bench=("--steps" 12 "--warmup" 3)
declare -A compiled_pid=()
for precision in fp16 bf16; do
  selected "train_python_compiled_$precision" || continue
  [[ -z $stages ]] || stages+=,compiled_warmup  # its timed steps must not run into the benchmarks
  rm -f "$out/compiled-$precision".{ready,go}
  TORCHINDUCTOR_COMPILE_THREADS=4 "$py" bench/gpu/reference_mpunet.py bench --precision "$precision" --compile \
    "${bench[@]}" --ready "$out/compiled-$precision.ready" --go "$out/compiled-$precision.go" --go-timeout "$budget" \
    >"$out/compiled-$precision.out" 2>&1 &
  compiled_pid[$precision]=$!
done
trap 'kill "${compiled_pid[@]}" 2>/dev/null' EXIT
# compiled_warmup PID READY_FILE...: waits until each process has written its file or ended.
compiled_warmup() {
  local pid ready t0=$SECONDS
  while (($#)); do
    pid=$1 ready=$2
    shift 2
    while [[ ! -f $ready ]] && kill -0 "$pid" 2>/dev/null; do sleep 1; done
    echo "$(basename "$ready" .ready): $(cat "$ready" 2>/dev/null || echo "ended before it was warm") (waited until $((SECONDS - t0)) s)"
  done
}
# compiled_timed PID PRECISION: starts the timed steps of a warm compiled reference and prints its output.
compiled_timed() {
  touch "$out/compiled-$2.go"
  while kill -0 "$1" 2>/dev/null; do sleep 0.2; done
  cat "$out/compiled-$2.out"
  grep -q '^RESULT ' "$out/compiled-$2.out"
}
export -f compiled_warmup compiled_timed

# --- build: core, CLI, the C++ and C API tests, the benchmarks; no bindings --------------------------
configure() {
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDIFFUSE_CUDA=ON -DDIFFUSE_BENCH=ON \
    -DDIFFUSE_BINDINGS=OFF -DDIFFUSE_WERROR=OFF ${gloo_include:+-DDIFFUSE_GLOO_INCLUDE_DIR=$gloo_include} \
    ${libzip:+-DLIBZIP_INCLUDE_DIR=$libzip/include -DLIBZIP_LIBRARY=$libzip/lib/libzip.so} \
    -DCMAKE_PREFIX_PATH="$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
}
compile() {
  cmake --build "$build" -j "$jobs" --target diffuse_core_tests train_child diffuse_capi_tests diffuse_cli \
    safetensors_equal train_bench sample_bench
}
# Gloo's headers (Debian's libgloo-dev), carried when the machine lacks them.
gloo_include=
[[ -f /usr/include/gloo/algorithm.h || ! -d $root/.device-carry/gloo-include ]] || gloo_include=$root/.device-carry/gloo-include
export gloo_include
# libzip (Debian's libzip-dev), carried likewise; its library is found at run time through the path.
libzip=
[[ -f /usr/include/zip.h || ! -d $root/.device-carry/libzip ]] || libzip=$root/.device-carry/libzip
[[ -z $libzip ]] || export LD_LIBRARY_PATH=$libzip/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export libzip
export -f configure compile
stage configure 30 configure
stage build 60 compile
[[ -x $build/tests/diffuse_core_tests ]] || { note "no test binary: stopping"; exit 1; }

# --- correctness on CUDA ----------------------------------------------------------------------------
# sharded NAME GTEST_COMMAND...: the binary's tests split over side-by-side processes (gtest's sharding),
# two CPU threads each: the trainer tests train with two threads on any machine, so one process would
# leave most cores idle. Prints the passing shards' logs, then the failing ones', a crashed one last (its
# last test started is then the crashing one, for the backtrace), and exits as the worst shard did.
sharded() {
  local name=$1
  shift
  local n=$((jobs / 2)) i rc status=0 crashed= pids=() failing=()
  ((n < 1)) && n=1
  ((n > 8)) && n=8
  trap 'kill "${pids[@]}" 2>/dev/null; exit 124' TERM
  for ((i = 0; i < n; i++)); do
    GTEST_TOTAL_SHARDS=$n GTEST_SHARD_INDEX=$i DIFFUSE_TEST_THREADS=2 "$@" --gtest_output="json:$out/$name-shard$i.json" \
      >"$out/$name-shard$i.log" 2>&1 &
    pids+=($!)
  done
  for ((i = 0; i < n; i++)); do
    wait "${pids[i]}"
    rc=$?
    if ((rc == 0)); then cat "$out/$name-shard$i.log"; continue; fi
    if ((rc > 128)) && [[ -z $crashed ]]; then crashed=$i; status=$rc; else failing+=("$i"); ((status)) || status=$rc; fi
  done
  for i in "${failing[@]}" $crashed; do cat "$out/$name-shard$i.log"; done
  echo "$n shards; exit $status"
  return "$status"
}
export -f sharded

golden=${DIFFUSE_SHARED_DIR:-$root/../shared}/golden
stage reference_check 20 "$py" bench/gpu/reference_mpunet.py check "$golden/mpunet_tiny.safetensors" --device cuda
# The whole core suite; the parity tests run on every available device, and the CUDA precision tests
# must not have skipped.
stage core_suite 60 sharded core_suite "$build/tests/diffuse_core_tests"
skipped=$(cat "$out"/core_suite-shard*.json 2>/dev/null | grep -B6 '"result": "SKIPPED"' | grep -o '"name": "[^"]*"' |
  cut -d'"' -f4 | sed 's|\\/|/|g' | tr '\n' ' ')
if [[ -n $skipped ]]; then
  failed=$((failed + 1))
  note "FAIL core_suite skipped: $skipped"
fi
# The trainer's tests (resume in another process bitwise, validation loss falls, ...) with CUDA trainers.
stage core_trainer_cuda 45 sharded core_trainer_cuda env DIFFUSE_TEST_DEVICE=cuda "$build/tests/diffuse_core_tests" \
  --gtest_filter='Trainer*:TrainerResume*:TrainerMethods*'
stage capi_cuda 60 env DIFFUSE_TEST_DEVICE=cuda "$build/tests/diffuse_capi_tests"

# --- benchmarks (bench/gpu/README.md) ---------------------------------------------------------------
warming=()
for precision in "${!compiled_pid[@]}"; do warming+=("${compiled_pid[$precision]}" "$out/compiled-$precision.ready"); done
((${#warming[@]})) && stage compiled_warmup 20 compiled_warmup "${warming[@]}"
for precision in fp16 bf16; do
  stage "train_diffuse_$precision" 45 "$build/bench/gpu/train_bench" --precision "$precision" "${bench[@]}"
  stage "train_python_eager_$precision" 45 "$py" bench/gpu/reference_mpunet.py bench --precision "$precision" "${bench[@]}"
  [[ -n ${compiled_pid[$precision]:-} ]] &&
    stage "train_python_compiled_$precision" 20 compiled_timed "${compiled_pid[$precision]}" "$precision"
done
for batch in 64 1; do
  stage "sample_diffuse_b$batch" 30 "$build/bench/gpu/sample_bench" --precision fp16 --batch "$batch"
  stage "sample_python_b$batch" 30 "$py" bench/gpu/reference_mpunet.py sample --precision fp16 --batch "$batch"
done

# --- training on CUDA: it learns, it samples, it resumes, it matches the CPU ---------------------------
cli=$build/bin/diffuse
data=${DIFFUSE_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
# fashion_config DIR DEVICE IMAGES PRECISION: the demo's model and recipe, shorter.
fashion_config() {
  cat <<CONFIG
model { img_resolution: 32 img_channels: 1 label_dim: 10 model_channels: 32 channel_mult: [1, 2, 2]
        num_blocks: 2 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 32 precision: $4 }
data { train { format: IDX path: "$data/train-images-idx3-ubyte.gz" labels_path: "$data/train-labels-idx1-ubyte.gz" }
       resize: PAD num_workers: 4 }
optimizer { ref_lr: 0.01 rampup_images: 8192 }
ema { snapshot_images: 16384 }
run { output_dir: "$1" device: "$2" batch_size: 256 duration_images: $3 status_images: 4096
      checkpoint_images: 16384 validation_interval_images: 0 threads: 8 }
CONFIG
}
cuda_learns() {
  fashion_config "$out/cuda-run" cuda 65536 PRECISION_FP16 >"$out/cuda-run.textproto"
  rm -rf "$out/cuda-run"
  "$cli" train "$out/cuda-run.textproto" || return
  "$py" - "$out/cuda-run/stats.jsonl" <<'PY' || return
import json, sys
losses = [json.loads(l)["loss"] for l in open(sys.argv[1]) if '"loss"' in l]
print(f"loss first {losses[0]:.4f} last {losses[-1]:.4f} over {len(losses)} status lines")
sys.exit(0 if losses[-1] < 0.8 * losses[0] else 1)
PY
  local ema
  ema=$(ls "$out"/cuda-run/ema-*.safetensors | tail -1)
  "$cli" sample "$ema" --device cuda --seeds 0-99 --class-rows --out "$out/cuda-samples.png"
}
export cli data
export -f fashion_config cuda_learns
stage cuda_learns 90 cuda_learns
stage cuda_cli_resume 60 env DIFFUSE_TEST_DEVICE=cuda tests/cli_resume.sh "$cli" "$build/tests/safetensors_equal"
# The same fp32 run on both devices (the tests' tiny 16x16 model, fast on the CPU): loss per status
# line and its relative difference.
tiny_config() {
  cat <<CONFIG
model { img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2]
        num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16 precision: PRECISION_FP32 }
data { train { format: IDX path: "$data/train-images-idx3-ubyte.gz" labels_path: "$data/train-labels-idx1-ubyte.gz" }
       resize: RESIZE num_workers: 2 }
optimizer { rampup_images: 1024 }
run { output_dir: "$1" device: "$2" batch_size: 64 duration_images: 4096 status_images: 512
      checkpoint_images: 0 validation_interval_images: 0 threads: 8 }
CONFIG
}
cpu_vs_cuda() {
  for device in cuda cpu; do
    tiny_config "$out/curve-$device" "$device" >"$out/curve-$device.textproto"
    rm -rf "$out/curve-$device"
    "$cli" train "$out/curve-$device.textproto" >/dev/null || return
  done
  "$py" - "$out/curve-cpu/stats.jsonl" "$out/curve-cuda/stats.jsonl" <<'PY'
import json, sys
cpu, cuda = ([json.loads(l)["loss"] for l in open(p) if '"loss"' in l] for p in sys.argv[1:])
worst = max(abs(a - b) / abs(a) for a, b in zip(cpu, cuda))
for a, b in zip(cpu, cuda):
    print(f"cpu {a:.6f} cuda {b:.6f}")
print(f"{len(cpu)} status lines; worst relative difference of the loss {worst:.3g}")
PY
}
export -f tiny_config cpu_vs_cuda
stage cpu_vs_cuda 90 cpu_vs_cuda

# NCCL at world size 1 trains, and its step time equals the non-distributed one within a few percent.
nccl_world1() {
  local name
  for name in plain nccl; do
    fashion_config "$out/world1-$name" cuda 32768 PRECISION_FP16 >"$out/world1-$name.textproto"
    rm -rf "$out/world1-$name"
  done
  "$cli" train "$out/world1-plain.textproto" >/dev/null || return
  RANK=0 WORLD_SIZE=1 LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=29555 "$cli" train "$out/world1-nccl.textproto" \
    >/dev/null || return
  "$py" - "$out/world1-plain/stats.jsonl" "$out/world1-nccl/stats.jsonl" <<'PY'
import json, sys
plain, nccl = ([json.loads(l) for l in open(p) if '"loss"' in l][-1] for p in sys.argv[1:])
ratio = nccl["seconds_per_step"] / plain["seconds_per_step"]
print(f"plain {plain['seconds_per_step'] * 1000:.2f} ms/step, NCCL world size 1 {nccl['seconds_per_step'] * 1000:.2f} "
      f"ms/step ({ratio:.3f}x; all-reduce {100 * nccl.get('communication_fraction', 0):.1f}% of the step); "
      f"loss {plain['loss']:.4f} vs {nccl['loss']:.4f}")
sys.exit(0 if nccl.get("world_size") == 1 else 1)
PY
}
export -f nccl_world1
stage nccl_world1 60 nccl_world1

# --- each speed lever of the trainer, then of the sampler, off in turn (bench/gpu/README.md, "Levers"), fp16; last,
# so that a short budget drops levers first.
for lever in deferred-readback multi-tensor fused-kernels fused-normalize channels-last fused-attention pinned-transfers loader-noise cuda-graphs; do
  stage "train_diffuse_fp16_without_$lever" 45 "$build/bench/gpu/train_bench" --precision fp16 --without "$lever" "${bench[@]}"
done
for lever in cuda-graphs fused-attention fused-normalize; do
  for batch in 1 64; do
    stage "sample_diffuse_b${batch}_without_$lever" 30 "$build/bench/gpu/sample_bench" --precision fp16 --batch "$batch" \
      --without "$lever"
  done
done

# A network with dropout (the xs preset has none): with the fused dropout, which lets the graphs capture
# the passes, and without it (a generator reseeded per image and block, no graphs).
stage train_diffuse_fp16_dropout 45 "$build/bench/gpu/train_bench" --precision fp16 --dropout 0.1 "${bench[@]}"
stage train_diffuse_fp16_dropout_without_fused-dropout 45 "$build/bench/gpu/train_bench" --precision fp16 \
  --dropout 0.1 --without fused-dropout "${bench[@]}"

# --- tables --------------------------------------------------------------------------------------------
shopt -s nullglob  # a kind of stage that all skipped has no logs
logs=("$out"/train_*.log "$out"/sample_*.log)
shopt -u nullglob
"$py" bench/gpu/table.py "${logs[@]}" --json "$out/results.json" --card "$card" --driver "$driver" \
  --torch "$torch_version" --commit "$commit" --date "$(date -u +%F)" >"$out/table.md" 2>&1 || true
cat "$out/table.md"
note "done: $failed stage(s) failed; $(elapsed)s of ${budget}s"
exit $((failed > 0))
