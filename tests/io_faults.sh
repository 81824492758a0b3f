#!/usr/bin/env bash
# I/O faults during training, each stopping the run with DIFFUSE_E_IO ("I/O error") naming the file, losing
# nothing, and leaving a directory that resume (or the corrected config) continues to the same end, bit for
# bit, as an uninterrupted run:
#   1. disk full mid-run (a small tmpfs; where none can be mounted, RLIMIT_FSIZE at the first checkpoint)
#   2. the output directory turning read-only mid-run, and read-only at start
#   3. a dataset file deleted mid-run (a PNG folder: images are decoded as they are drawn)
#   4. a dataset file without read permission at start
# Permission checks run without CAP_DAC_OVERRIDE (setpriv), so that they hold for root too.
# Usage: io_faults.sh CLI SAFETENSORS_EQUAL
set -euo pipefail
cli=$1 equal=$2
source "$(dirname "$0")/tiny_config.sh"
work=$(mktemp -d)
mounted=""
cleanup() {
  kill -9 $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  [ -z "$mounted" ] || umount -l "$mounted" 2>/dev/null || true
  chmod -R u+rwX "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export OMP_WAIT_POLICY=passive
fail() { echo "FAIL: $*"; exit 1; }
# Runs a command without the capabilities that let root ignore file permissions.
unprivileged() { setpriv --bounding-set -dac_override,-dac_read_search --inh-caps -dac_override,-dac_read_search -- "$@"; }

run_fields() {
  echo "output_dir: \"$1\" batch_size: 32 duration_images: 2048 status_images: 256 checkpoint_images: 1024
        keep_checkpoints: 8 validation_interval_images: 0 threads: 1 ${2:-}"
}
tiny_config "$(run_fields "$work/run")" >"$work/tiny.textproto"

# The reference: one uninterrupted run.
"$cli" train "$work/tiny.textproto" >"$work/reference.log" 2>&1
mv "$work/run" "$work/reference"
checkpoint_bytes=$(stat -c %s "$work/reference/checkpoint-0000001.safetensors")

# The run in $1 ended where the reference did: every checkpoint and snapshot bit for bit (all but the
# training time, and the config's paths), no temporaries.
same_as_reference() {
  local dir=$1 out
  out=$("$equal" "$work/reference" "$dir" --ignore state.elapsed_seconds --ignore config) ||
    fail "$dir differs from the uninterrupted run: $out"
  [ "${out% files compared}" -ge 4 ] || fail "too few files to compare: $out"
  ! ls "$dir"/*.tmp.* >/dev/null 2>&1 || fail "temporaries left in $dir: $(ls "$dir"/*.tmp.*)"
}
# The failed run's message: an I/O error naming a file of $2; echoes it (call as x=$(io_error ...) || exit 1).
io_error() {
  local log=$1 where=$2 line
  line=$(grep "^diffuse: .*I/O error: " "$log") || { cat "$log"; fail "no i/o error in $log"; }
  [[ $line == *"$where"* ]] || fail "the error does not name a file in $where: $line"
  echo "$line"
}
# Every safetensors file of $1 under its final name loads, and nothing half-written is left.
all_load() {
  local out
  out=$("$equal" "$1" "$1" 2>&1) || fail "a file of $1 does not load: $out"
  ! ls "$1"/*.tmp.* >/dev/null 2>&1 || fail "temporaries left in $1: $(ls "$1"/*.tmp.*)"
}
wait_for() {
  for _ in $(seq 600); do [ -e "$1" ] && return 0; sleep 0.05; done
  fail "$1 did not appear${2:+: $(tail -3 "$2")}"
}

# --- 1, 2: disk full and read-only mid-run, on a tmpfs --------------------------------------------------
mkdir -p "$work/small"
if mount -t tmpfs -o size=64m tmpfs "$work/small" 2>/dev/null; then
  mounted=$work/small
  # Disk full: room for the run's first checkpoint and snapshots, not for its second checkpoint.
  used=$(du -cb "$work"/reference/{config.textproto,stats.jsonl,log.txt,*-0000001.safetensors} | tail -1 | cut -f1)
  mount -o remount,size=$(( (used + checkpoint_bytes / 2 + 65535) / 4096 * 4096 )) "$work/small"
  tiny_config "$(run_fields "$work/small/run")" >"$work/small.textproto"
  if "$cli" train "$work/small.textproto" >"$work/full.log" 2>&1; then fail "the run on a full disk succeeded"; fi
  msg=$(io_error "$work/full.log" "$work/small/run") || exit 1
echo "disk full:  $msg"
  grep -q "No space left on device" "$work/full.log" || fail "disk full: not ENOSPC"
  all_load "$work/small/run"
  "$equal" "$work/reference/checkpoint-0000001.safetensors" "$work/small/run/checkpoint-0000001.safetensors" \
    --ignore state.elapsed_seconds --ignore config >/dev/null || fail "disk full: the last good checkpoint was not kept"
  mount -o remount,size=64m "$work/small"
  "$cli" train --resume "$work/small/run" >"$work/full-resumed.log" 2>&1 || { cat "$work/full-resumed.log"; fail "resume after disk full"; }
  same_as_reference "$work/small/run"
  rm -rf "$work/small/run"

  umount "$work/small"
  mounted=""
else
  # No tmpfs here: the file-size limit makes the first checkpoint's write fail (EFBIG, SIGXFSZ ignored).
  tiny_config "$(run_fields "$work/small/run")" >"$work/small.textproto"
  if (trap '' XFSZ; ulimit -f $((checkpoint_bytes / 2048)); exec "$cli" train "$work/small.textproto") >"$work/full.log" 2>&1; then
    fail "the run over its file-size limit succeeded"
  fi
  msg=$(io_error "$work/full.log" "$work/small/run") || exit 1
echo "file size limit (no tmpfs can be mounted here): $msg"
  all_load "$work/small/run"
  # It ended before its first checkpoint: the same config starts over in the same directory.
  "$cli" train "$work/small.textproto" >"$work/full-again.log" 2>&1 || { cat "$work/full-again.log"; fail "start over after the file-size limit"; }
  same_as_reference "$work/small/run"
fi

# Read-only mid-run: the run directory stops being writable once the first checkpoint is written.
unprivileged "$cli" train "$work/tiny.textproto" >"$work/ro.log" 2>&1 &
pid=$!
wait_for "$work/run/checkpoint-0000001.safetensors"
chmod 555 "$work/run"
if wait "$pid"; then fail "the run into a read-only directory succeeded"; fi
msg=$(io_error "$work/ro.log" "$work/run") || exit 1
echo "read-only mid-run: $msg"
grep -q "Permission denied" "$work/ro.log" || fail "read-only: not EACCES"
chmod 755 "$work/run"
all_load "$work/run"
"$cli" train --resume "$work/run" >"$work/ro-resumed.log" 2>&1 || { cat "$work/ro-resumed.log"; fail "resume once writable"; }
same_as_reference "$work/run"

# Read-only at start: nothing is written, and the same config starts there once it is writable.
mkdir -p "$work/readonly/run"
tiny_config "$(run_fields "$work/readonly/run")" >"$work/readonly.textproto"
chmod 555 "$work/readonly/run"
if unprivileged "$cli" train "$work/readonly.textproto" >"$work/ro-start.log" 2>&1; then fail "a run into a read-only directory succeeded"; fi
msg=$(io_error "$work/ro-start.log" "$work/readonly/run") || exit 1
echo "read-only at start: $msg"
[ -z "$(ls -A "$work/readonly/run")" ] || fail "files were written into the read-only directory: $(ls "$work/readonly/run")"
chmod 755 "$work/readonly/run"
"$cli" train "$work/readonly.textproto" >"$work/ro-start-again.log" 2>&1 || { cat "$work/ro-start-again.log"; fail "start once writable"; }
same_as_reference "$work/readonly/run"

# --- 3: a PNG of the training set deleted mid-run ---------------------------------------------------------
python3 - "$data/train-images-idx3-ubyte.gz" "$work/pngs" <<'PY'
import gzip, os, struct, sys, zlib
images = gzip.open(sys.argv[1]).read()
rows, cols = struct.unpack(">II", images[8:16])
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
os.makedirs(sys.argv[2])
for i in range(64):
    pixels = images[16 + i * rows * cols:16 + (i + 1) * rows * cols]
    raw = b"".join(b"\0" + pixels[r * cols:(r + 1) * cols] for r in range(rows))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", cols, rows, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    open(os.path.join(sys.argv[2], "%03d.png" % i), "wb").write(png)
PY
cat >"$work/pngs.textproto" <<CONFIG
model { img_resolution: 16 img_channels: 1 model_channels: 16 channel_mult: [1, 2] num_blocks: 1
        attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16 }
data { train { format: PNG_FOLDER path: "$work/pngs" } resize: RESIZE }
optimizer { rampup_images: 320 }
run { $(run_fields "$work/pngrun" "validation_images: 16") }
CONFIG
"$cli" train "$work/pngs.textproto" >"$work/deleted.log" 2>&1 &
pid=$!
wait_for "$work/pngrun/checkpoint-0000001.safetensors" "$work/deleted.log"
mv "$work/pngs/017.png" "$work/017.png"
if wait "$pid"; then fail "the run without one of its images succeeded"; fi
msg=$(io_error "$work/deleted.log" "$work/pngs/017.png") || exit 1
echo "dataset file deleted: $msg"
all_load "$work/pngrun"
mv "$work/017.png" "$work/pngs/017.png"
"$cli" train --resume "$work/pngrun" >"$work/deleted-resumed.log" 2>&1 || { cat "$work/deleted-resumed.log"; fail "resume once the file is back"; }
grep -q "done: 2.0 kimg" "$work/deleted-resumed.log" || fail "the resumed run did not finish"

# --- 4: a dataset file that cannot be read ----------------------------------------------------------------
mkdir -p "$work/unreadable"
cp "$data"/train-*-ubyte.gz "$work/unreadable/"
chmod 000 "$work/unreadable/train-images-idx3-ubyte.gz"
fashion_mnist=$data data=$work/unreadable
tiny_config "$(run_fields "$work/perm/run")" >"$work/perm.textproto"
data=$fashion_mnist
if unprivileged "$cli" train "$work/perm.textproto" >"$work/perm.log" 2>&1; then fail "a run from an unreadable file succeeded"; fi
msg=$(io_error "$work/perm.log" "$work/unreadable/train-images-idx3-ubyte.gz") || exit 1
echo "permission: $msg"
grep -q "Permission denied" "$work/perm.log" || fail "permission: not EACCES"
chmod 644 "$work/unreadable/train-images-idx3-ubyte.gz"
# It ended before its first step: the corrected setup starts in the same directory.
"$cli" train "$work/perm.textproto" >"$work/perm-again.log" 2>&1 || { cat "$work/perm-again.log"; fail "start once readable"; }
same_as_reference "$work/perm/run"
echo "io faults: every run stopped with a named i/o error and continued to the uninterrupted run's end"
