#!/usr/bin/env bash
# The CLI stops a run on SIGTERM with a checkpoint (exit status 3), and `diffuse train --resume`
# continues it exactly: every checkpoint and EMA snapshot of the resumed run holds the same tensors, bit
# for bit, as the one of a run that was never stopped (all but the wall-clock training time). On
# $DIFFUSE_TEST_DEVICE (default cpu).
set -euo pipefail
cli=$1 equal=$2
source "$(dirname "$0")/tiny_config.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_WAIT_POLICY=passive

tiny_config "output_dir: \"$work/run\" batch_size: 32 duration_images: 2048 status_images: 128
  checkpoint_images: 0 validation_images: 32 threads: 2 device: \"${DIFFUSE_TEST_DEVICE:-cpu}\"" >"$work/tiny.textproto"

# The reference: one uninterrupted run, then moved aside so that the second run has the same path.
"$cli" train "$work/tiny.textproto" >"$work/reference.log"
mv "$work/run" "$work/reference"

# The same run, stopped by SIGTERM once it has trained a few hundred images.
"$cli" train "$work/tiny.textproto" >"$work/stopped.log" &
pid=$!
for _ in $(seq 600); do
  lines=0
  [ -f "$work/run/stats.jsonl" ] && lines=$(wc -l <"$work/run/stats.jsonl")
  [ "$lines" -ge 3 ] && break
  sleep 0.1
done
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
grep -q "stopped at" "$work/stopped.log" || { echo "FAIL: the run was not stopped by SIGTERM"; cat "$work/stopped.log"; exit 1; }
# Scripts tell "stopped" from "done": exit status 3 (samples/cli/command_line.h).
[ $status -eq 3 ] || { echo "FAIL: the stopped run exited $status, not 3"; exit 1; }
ls "$work/run"/checkpoint-*.safetensors >/dev/null || { echo "FAIL: no checkpoint after SIGTERM"; exit 1; }

"$cli" train --resume "$work/run" >"$work/resumed.log"
grep -q "done: 2.0 kimg" "$work/resumed.log" || { echo "FAIL: the resumed run did not finish"; cat "$work/resumed.log"; exit 1; }

if ! "$equal" "$work/reference" "$work/run" --ignore state.elapsed_seconds --all >"$work/diff.txt"; then
  echo "FAIL: the run differs after stop and resume:"; cat "$work/diff.txt"; exit 1
fi
compared=$(sed -n 's/ files compared$//p' "$work/diff.txt")
[ "$compared" -ge 3 ] || { echo "FAIL: only $compared files to compare"; exit 1; }
echo "$(grep -o 'stopped at [0-9.]* kimg' "$work/stopped.log"); $compared files equal after resume"
