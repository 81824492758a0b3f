#!/usr/bin/env bash
# Copies what bench/gpu/device-check.sh needs from outside the checkout into .device-carry/ (git-ignored),
# because a device run sends the checkout only: the golden tensors of ../shared, Fashion-MNIST, the
# commit the run measures, and the Debian libraries the GPU machine may lack (Gloo's headers, libzip).
# Name .device-carry in the device tool's `carry` (about 50 MB).
#   bench/gpu/prepare-carry.sh [SHARED_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
shared=${1:-${DIFFUSE_SHARED_DIR:-$root/../shared}}
data=${DIFFUSE_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
dest=$root/.device-carry
rm -rf "$dest/shared" "$dest/fashion-mnist"
mkdir -p "$dest/shared/golden" "$dest/fashion-mnist"
cp "$shared"/golden/*.safetensors "$shared"/golden/*.json "$dest/shared/golden/"
cp "$data"/*-ubyte.gz "$dest/fashion-mnist/"
# Gloo's headers (libgloo-dev), which the GPU machine may lack: c10d's ProcessGroupGloo.hpp needs them.
rm -rf "$dest/gloo-include"
mkdir -p "$dest/gloo-include"
cp -r /usr/include/gloo "$dest/gloo-include/"
# libzip (libzip-dev: zip.h, zipconf.h, the shared library), which the GPU machine may lack too.
rm -rf "$dest/libzip"
mkdir -p "$dest/libzip/include" "$dest/libzip/lib"
cp /usr/include/zip.h /usr/include/zipconf.h "$dest/libzip/include/"
cp -P /usr/lib/x86_64-linux-gnu/libzip.so* "$dest/libzip/lib/"
commit=$(git -C "$root" rev-parse --short HEAD)
[[ -z $(git -C "$root" status --porcelain --untracked-files=no) ]] || commit="$commit+changes"
echo "$commit" >"$dest/commit"
du -sh "$dest"
