#!/usr/bin/env bash
# CPU training speed of one or more builds of the CLI on the same runs: the Fashion-MNIST demo model
# (samples/configs/fashion-mnist-demo.textproto, 32x32, batch 64) and the tests' tiny model (16x16,
# batch 32), each for IMAGES images, REPEATS times, builds alternating so that drift of the machine
# hits them alike. Prints images/s per build (the median) and each build's ratio to the first.
# DROPOUT sets the models' dropout (the sample configs have none).
#
#   bench/training/run.sh CLI [CLI...]     (env: IMAGES=8192 REPEATS=3 THREADS=2 DROPOUT=0)
#
# e.g. a commit against its parent: build both (git worktree), then run.sh OLD/bin/diffuse NEW/bin/diffuse.
set -euo pipefail
(($# >= 1)) || { sed -n 2,9p "$0"; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
images=${IMAGES:-8192} repeats=${REPEATS:-3} threads=${THREADS:-2} dropout=${DROPOUT:-0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_WAIT_POLICY=passive

# The sample config's model, data and EMA with this benchmark's run block (no checkpoint or validation
# inside the timed run; the final stats line, which reports images/s, comes before the final writes).
config() {
  sed -e '/^run {/,$d' -e "s/^model {/model { dropout: $dropout/" "$root/samples/configs/$1.textproto"
  echo "run { output_dir: \"$2\" batch_size: $3 duration_images: $images status_images: $images checkpoint_images: 0
        validation_interval_images: 0 threads: $threads }"
}
results=$work/results.txt
for model in fashion-mnist-demo:64 fashion-mnist-tiny:32; do
  name=${model%%:*} batch=${model##*:}
  for ((r = 0; r < repeats; r++)); do
    for ((b = 1; b <= $#; b++)); do
      cli=${!b}
      run=$work/run-$b
      rm -rf "$run"
      config "$name" "$run" "$batch" >"$work/$name.textproto"
      "$cli" train "$work/$name.textproto" >"$work/log" 2>&1 || { cat "$work/log"; exit 1; }
      ips=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if "images_per_second" in l][-1]["images_per_second"])' "$run/stats.jsonl")
      echo "$name $b $ips" >>"$results"
    done
  done
done
python3 - "$results" "$@" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
clis = sys.argv[2:]
print("| model | build | images/s (median) | runs | vs the first build |")
print("|---|---|---|---|---|")
for model in dict.fromkeys(r[0] for r in rows):
    medians = {}
    for b in range(1, len(clis) + 1):
        v = [float(r[2]) for r in rows if r[0] == model and r[1] == str(b)]
        medians[b] = statistics.median(v)
        print(f"| {model} | {clis[b - 1]} | {medians[b]:.1f} | {', '.join(f'{x:.1f}' for x in v)} | {medians[b] / medians[1]:.3f}x |")
PY
