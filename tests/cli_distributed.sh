#!/usr/bin/env bash
# Data-parallel training over c10d/Gloo on loopback, through the CLI:
#  1. 2 processes x 1 thread (`--nproc 2`, and torchrun where given) follow the 1-process run at the same
#     global batch: every tensor of the checkpoint and the EMA snapshots within relative L2 $tolerance,
#     the same loss curve within 1e-6;
#     with the default thread count, 2 ranks on 2 CPUs take 1 thread each;
#  2. a run stopped at world size 2 and resumed at world size 1 ends where the uninterrupted run does;
#  3. a rank killed with SIGKILL makes the other exit non-zero, naming it, within the timeout, and the
#     run resumes afterwards (also when the lost rank is rank 0, which hosts the store);
#  4. ranks with different configs are refused at start-up;
#  5. `diffuse sample --nproc 2` writes the same grid, bit for bit, and `diffuse eval --nproc 2` prints the
#     same metrics as one process.
# Usage: cli_distributed.sh CLI SAFETENSORS_EQUAL [TORCHRUN]
set -euo pipefail
cli=$1 equal=$2 torchrun=${3:-}
source "$(dirname "$0")/tiny_config.sh"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export OMP_WAIT_POLICY=passive
tolerance=1e-3

config() {  # config [SEED] > file: every run in $work/run (the metadata names it), moved aside after
  tiny_config "output_dir: \"$work/run\" batch_size: 64 duration_images: 2048 status_images: 256 checkpoint_images: 1024
    validation_images: 32 threads: 1 seed: ${1:-0} distributed { timeout_seconds: 20 }" "dropout: 0.1" "xflip: true"
}

# Every checkpoint and snapshot of run $1 within the tolerance of the reference's, and the same losses.
same_as_reference() {
  local run=$1 name compared=0
  for reference in "$work"/reference/*.safetensors; do
    name=$(basename "$reference")
    [ -f "$run/$name" ] || continue
    if ! "$equal" "$reference" "$run/$name" --ignore state.elapsed_seconds --tolerance $tolerance >"$work/diff.txt"; then
      echo "FAIL: $run/$name differs from the 1-process run:"; cat "$work/diff.txt"; exit 1
    fi
    compared=$((compared + 1))
  done
  [ "$compared" -ge 3 ] || { echo "FAIL: only $compared files of $run to compare"; exit 1; }
  echo "  $(basename "$run"): $compared files within $tolerance; the last: $(cat "$work/diff.txt")"
  python3 - "$work/reference/stats.jsonl" "$run/stats.jsonl" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert [x["nimg"] for x in a] == [x["nimg"] for x in b], "stats lines at other times"
worst = max(abs(x[k] - y[k]) / abs(x[k]) for x, y in zip(a, b) for k in ("loss", "validation_loss") if k in x)
assert worst < 1e-6, f"loss curves differ by {worst:.3g}"
print(f"  loss curve: {len(a)} lines, worst relative difference {worst:.3g}")
PY
}

config >"$work/run.textproto"
"$cli" train "$work/run.textproto" >"$work/reference.log"
mv "$work/run" "$work/reference"
echo "1 process: $(tail -n 1 "$work/reference.log")"

# 1. Two processes started by the CLI, and by torchrun.
"$cli" train --nproc 2 "$work/run.textproto" >"$work/nproc.log" 2>&1 || { cat "$work/nproc.log"; exit 1; }
mv "$work/run" "$work/nproc"
[ "$(grep -c "done: 2.0 kimg" "$work/nproc.log")" -eq 1 ] || { echo "FAIL: rank 0 alone reports"; cat "$work/nproc.log"; exit 1; }
grep -q '"world_size":2' "$work/nproc/stats.jsonl" || { echo "FAIL: stats.jsonl does not name the world size"; exit 1; }
[ -f "$work/nproc/log-rank1.txt" ] || { echo "FAIL: rank 1 has no log file of its own"; exit 1; }
same_as_reference "$work/nproc"
if [ -n "$torchrun" ]; then
  "$torchrun" --no-python --standalone --nproc-per-node 2 "$cli" train "$work/run.textproto" \
    >"$work/torchrun.log" 2>&1 || { cat "$work/torchrun.log"; exit 1; }
  mv "$work/run" "$work/torchrun"
  same_as_reference "$work/torchrun"
fi

# 1b. The default thread count (run.threads: 0) shares the CPUs: 2 ranks on 2 CPUs take 1 thread each.
sed 's/threads: 1/threads: 0/; s/duration_images: 2048/duration_images: 128/' "$work/run.textproto" >"$work/shared.textproto"
two_cpus=$(python3 -c 'import os; print(",".join(map(str, sorted(os.sched_getaffinity(0))[:2])))')
taskset -c "$two_cpus" "$cli" train --nproc 2 "$work/shared.textproto" >"$work/shared.log" 2>&1 ||
  { cat "$work/shared.log"; exit 1; }
grep -q "on cpu, 1 CPU thread (rank 0 of 2" "$work/shared.log" ||
  { echo "FAIL: 2 ranks on 2 CPUs should take 1 thread each"; cat "$work/shared.log"; exit 1; }
rm -rf "$work/run"
echo "  default threads: $(grep -o 'on cpu, [0-9]* CPU threads* (rank 0 of 2' "$work/shared.log")"

# 2. Stopped (SIGTERM to the launcher) at world size 2, resumed at world size 1.
"$cli" train --nproc 2 "$work/run.textproto" >"$work/stopped.log" 2>&1 &
launcher=$!
for _ in $(seq 600); do
  [ -f "$work/run/stats.jsonl" ] && [ "$(wc -l <"$work/run/stats.jsonl")" -ge 3 ] && break
  sleep 0.05
done
kill -TERM $launcher
status=0
wait $launcher || status=$?
[ $status -eq 3 ] || { echo "FAIL: the stopped launcher exited $status, not 3 (stopped)"; cat "$work/stopped.log"; exit 1; }
[ "$(grep -c "stopped at" "$work/stopped.log")" -eq 1 ] || { echo "FAIL: rank 0 should report the stop"; cat "$work/stopped.log"; exit 1; }
"$cli" train --resume "$work/run" >"$work/resumed.log"
mv "$work/run" "$work/stopped"
grep -q "done: 2.0 kimg" "$work/resumed.log" || { echo "FAIL: the resumed run did not finish"; cat "$work/resumed.log"; exit 1; }
echo "world size 2 $(grep -o 'stopped at [0-9.]* kimg' "$work/stopped.log" | head -n 1), resumed at world size 1:"
same_as_reference "$work/stopped"

# 3. SIGKILL one rank once a checkpoint exists: the other names it and stops; the run resumes.
worker() {  # worker RANK CONFIG LOG: a rank of a 2-process run on $port
  MASTER_ADDR=127.0.0.1 MASTER_PORT=$port WORLD_SIZE=2 RANK=$1 LOCAL_RANK=$1 exec "$cli" train "$2" >"$3" 2>&1
}
port=$((20000 + RANDOM % 20000))
for victim in 1 0; do
  survivor=$((1 - victim))
  worker 0 "$work/run.textproto" "$work/killed$victim-0.log" & pid0=$!
  worker 1 "$work/run.textproto" "$work/killed$victim-1.log" & pid1=$!
  for _ in $(seq 600); do
    ls "$work/run"/checkpoint-*.safetensors >/dev/null 2>&1 && break
    sleep 0.05
  done
  [ $victim = 1 ] && kill -KILL $pid1 || kill -KILL $pid0
  start=$(date +%s%N)
  status=0
  [ $victim = 1 ] && { wait $pid0 || status=$?; } || { wait $pid1 || status=$?; }
  millis=$((($(date +%s%N) - start) / 1000000))
  wait $pid0 $pid1 2>/dev/null || true
  log="$work/killed$victim-$survivor.log"
  [ $status -ne 0 ] || { echo "FAIL: rank $survivor exited 0 after rank $victim was killed"; cat "$log"; exit 1; }
  grep -q "rank $victim of 2 lost" "$log" || { echo "FAIL: rank $survivor did not name rank $victim"; cat "$log"; exit 1; }
  [ $millis -lt 20000 ] || { echo "FAIL: rank $survivor took $millis ms"; exit 1; }
  echo "rank $victim killed: rank $survivor exited with $status after $millis ms: $(grep -o 'peer lost.*' "$log" | head -n 1 | cut -c1-160)"
  "$cli" train --resume "$work/run" >"$work/killed$victim-resumed.log"
  mv "$work/run" "$work/killed$victim"
  grep -q "done: 2.0 kimg" "$work/killed$victim-resumed.log" || { echo "FAIL: the killed run did not resume"; cat "$work/killed$victim-resumed.log"; exit 1; }
  port=$((port + 1))
done

# 4. Configs that differ between the ranks.
config 7 >"$work/seed7.textproto"
worker 0 "$work/run.textproto" "$work/mismatch-0.log" & pid0=$!
worker 1 "$work/seed7.textproto" "$work/mismatch-1.log" & pid1=$!
s0=0 s1=0
wait $pid0 || s0=$?
wait $pid1 || s1=$?
for r in 0 1; do
  grep -q "rank 1's TrainConfig differs from rank 0's" "$work/mismatch-$r.log" ||
    { echo "FAIL: rank $r did not refuse the mismatched configs"; cat "$work/mismatch-$r.log"; exit 1; }
done
[ $s0 -ne 0 ] && [ $s1 -ne 0 ] || { echo "FAIL: mismatched ranks exited $s0 and $s1"; exit 1; }
echo "mismatched configs refused: $(grep -o "rank 1's TrainConfig.*" "$work/mismatch-0.log" | head -n 1 | cut -c1-140)"

# 5. Sampling and evaluation spread over two processes.
model=$(ls "$work"/reference/ema-0.100-*.safetensors | tail -n 1)
"$cli" sample "$model" --seeds 0-63 --steps 8 --class-rows --out "$work/one.png" >/dev/null
"$cli" sample --nproc 2 "$model" --seeds 0-63 --steps 8 --class-rows --out "$work/two.png" >"$work/sample2.log" 2>&1 ||
  { cat "$work/sample2.log"; exit 1; }
cmp "$work/one.png" "$work/two.png" || { echo "FAIL: the 2-process grid differs"; exit 1; }
cat >"$work/eval.textproto" <<EVAL
reference { format: IDX path: "$data/t10k-images-idx3-ubyte.gz" labels_path: "$data/t10k-labels-idx1-ubyte.gz" }
resize: RESIZE
classifier: "$(cd "$(dirname "$0")/.." && pwd)/metrics/fashion-mnist-classifier.safetensors"
num_images: 100
sampler { num_steps: 8 }
EVAL
"$cli" eval "$model" "$work/eval.textproto" >"$work/eval1.txt" 2>"$work/eval1.log"
"$cli" eval --nproc 2 "$model" "$work/eval.textproto" >"$work/eval2.txt" 2>"$work/eval2.log" ||
  { cat "$work/eval2.txt" "$work/eval2.log"; exit 1; }
diff "$work/eval1.txt" "$work/eval2.txt" || { echo "FAIL: the 2-process evaluation differs"; exit 1; }
echo "sample and eval over 2 processes: the same grid, the same metrics (FD_cls $(awk '/FD_cls/ { print $2 }' "$work/eval1.txt"))"
