#!/usr/bin/env bash
# A PNG_FOLDER dataset given as a zip archive, laid out as EDM2's dataset_tool.py writes one
# (--dest=x.zip: 00000/img00000000.png, ..., dataset.json with the labels) and written by Python's
# zipfile (members stored and deflated): the run trains bit for bit as from the same folder unpacked,
# and a damaged member stops the run with a corrupt-file error naming the archive and the member.
# Usage: png_zip_dataset.sh CLI SAFETENSORS_EQUAL
set -euo pipefail
cli=$1 equal=$2
source "$(dirname "$0")/tiny_config.sh"
source "$(dirname "$0")/dataset_runs.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_WAIT_POLICY=passive
fail() { echo "FAIL: $*"; exit 1; }

python3 - "$data" "$work/folder" "$work/data.zip" <<'PY'
import gzip, json, os, struct, sys, zipfile, zlib
data, folder, archive = sys.argv[1:]
images = gzip.open(os.path.join(data, "train-images-idx3-ubyte.gz")).read()
labels = gzip.open(os.path.join(data, "train-labels-idx1-ubyte.gz")).read()[8:]
rows, cols = struct.unpack(">II", images[8:16])
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
members = {}
for i in range(96):
    pixels = images[16 + i * rows * cols:16 + (i + 1) * rows * cols]
    raw = b"".join(b"\0" + pixels[r * cols:(r + 1) * cols] for r in range(rows))
    members["%05d/img%08d.png" % (i // 64, i)] = (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", cols, rows, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
members["dataset.json"] = json.dumps({"labels": [[name, labels[i]] for i, name in enumerate(members)]}).encode()
with zipfile.ZipFile(archive, "w") as z:
    for i, (name, body) in enumerate(members.items()):
        z.writestr(name, body, zipfile.ZIP_DEFLATED if i % 2 else zipfile.ZIP_STORED)
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "wb").write(body)
PY

dataset_config PNG_FOLDER "$work/folder" "$work/from-folder" 1 16 "resize: RESIZE" >"$work/folder.textproto"
dataset_config PNG_FOLDER "$work/data.zip" "$work/from-zip" 1 16 "resize: RESIZE" >"$work/zip.textproto"
train_alike "zip archive = its folder" "$work/folder.textproto" "$work/zip.textproto"

# A flipped byte in the middle of one member's data: its CRC no longer holds.
python3 - "$work/data.zip" "$work/damaged.zip" <<'PY'
import sys, zipfile
source, damaged = sys.argv[1:]
blob = bytearray(open(source, "rb").read())
info = zipfile.ZipFile(source).getinfo("00001/img00000070.png")
name_length, extra_length = int.from_bytes(blob[info.header_offset + 26:][:2], "little"), int.from_bytes(blob[info.header_offset + 28:][:2], "little")
blob[info.header_offset + 30 + name_length + extra_length + info.compress_size // 2] ^= 0x5A
open(damaged, "wb").write(blob)
PY
dataset_config PNG_FOLDER "$work/damaged.zip" "$work/from-damaged" 1 16 "resize: RESIZE" >"$work/damaged.textproto"
if "$cli" train "$work/damaged.textproto" >"$work/damaged.log" 2>&1; then fail "training from a damaged archive succeeded"; fi
line=$(grep "^diffuse: .*corrupt file: " "$work/damaged.log") || { cat "$work/damaged.log"; fail "no corrupt-file error"; }
[[ $line == *"$work/damaged.zip: 00001/img00000070.png"* ]] || fail "the error does not name the archive and member: $line"
echo "damaged member: $line"
