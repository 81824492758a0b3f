#!/usr/bin/env bash
# SIGKILL soak: a tiny run killed with SIGKILL at random moments (checkpoints and EMA snapshots are
# written every 1024 images, so some kills land in those writes), resumed (or, before its first
# checkpoint, started again) each time, ends bit for bit where an uninterrupted run does: every
# checkpoint and snapshot of it holds the same tensors; after every kill each file under a final name
# loads; at the end no temporaries are left.
# Usage: kill_soak.sh CLI SAFETENSORS_EQUAL [KILLS]   (make test: 3; the full soak: 20)
set -euo pipefail
cli=$1 equal=$2 kills=${3:-3}
source "$(dirname "$0")/tiny_config.sh"
work=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export OMP_WAIT_POLICY=passive
# Long enough that every kill finds the run still going (a segment keeps about a second of its work).
images=$(( (kills < 6 ? 6 : kills) * 1024 ))

tiny_config "output_dir: \"$work/run\" batch_size: 32 duration_images: $images status_images: 256
  checkpoint_images: 1024 keep_checkpoints: 8 validation_interval_images: 0 threads: 1" >"$work/tiny.textproto"

"$cli" train "$work/tiny.textproto" >"$work/reference.log" 2>&1
mv "$work/run" "$work/reference"

# Every safetensors file under its final name loads (compared with itself).
all_load() {
  [ -d "$work/run" ] || return 0
  local out
  out=$("$equal" "$work/run" "$work/run" 2>&1) || { echo "FAIL: a file does not load after a kill: $out"; exit 1; }
}

killed=0 segments=0 in_writes=0
while :; do
  segments=$((segments + 1))
  if ls "$work"/run/checkpoint-*.safetensors >/dev/null 2>&1; then
    "$cli" train --resume "$work/run" >>"$work/soak.log" 2>&1 &
  else
    "$cli" train "$work/tiny.textproto" >>"$work/soak.log" 2>&1 &
  fi
  pid=$!
  if [ $killed -ge "$kills" ]; then
    wait $pid || { echo "FAIL: the last run failed"; tail -n 20 "$work/soak.log"; exit 1; }
    break
  fi
  if [ $((killed % 2)) -eq 1 ]; then
    # Every other kill aims at a write: the moment a temporary (a checkpoint or snapshot being written)
    # appears, polled without forking.
    until compgen -G "$work/run/*.tmp.*" >/dev/null; do
      kill -0 $pid 2>/dev/null || break
    done
  else
    # A moment 0.5 to 3.5 s in: start-up takes about 0.5 s, a segment trains some hundred images a second.
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.5 + 3 * r / 32767 }')"
  fi
  if kill -0 $pid 2>/dev/null; then
    kill -KILL $pid
    wait $pid 2>/dev/null || true
    killed=$((killed + 1))
    # A temporary left behind: this kill landed inside a checkpoint or snapshot write.
    ls "$work/run" 2>/dev/null | grep -q '\.tmp\.' && in_writes=$((in_writes + 1))
    all_load
  else
    wait $pid || { echo "FAIL: a run failed"; tail -n 20 "$work/soak.log"; exit 1; }
    break  # it finished before the kill
  fi
done

grep -q "done: $(awk -v n=$images 'BEGIN { printf "%.1f", n / 1000 }') kimg" "$work/soak.log" || { echo "FAIL: the run never finished"; tail -n 20 "$work/soak.log"; exit 1; }
leftovers=$(ls "$work/run" | grep -c '\.tmp\.' || true)
[ "$leftovers" -eq 0 ] || { echo "FAIL: $leftovers temporaries left"; ls "$work/run"; exit 1; }
"$equal" "$work/reference" "$work/run" --ignore state.elapsed_seconds >"$work/diff.txt" ||
  { echo "FAIL: the run differs after $killed kills:"; cat "$work/diff.txt"; exit 1; }
compared=$(sed -n 's/ files compared$//p' "$work/diff.txt")
[ "${compared:-0}" -ge "$((images / 1024))" ] || { echo "FAIL: only ${compared:-0} files compared"; exit 1; }
echo "$killed kills ($in_writes inside a file write) in $segments segments survived: $compared checkpoints and" \
  "snapshots bit for bit equal, no temporaries"
