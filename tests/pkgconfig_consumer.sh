#!/usr/bin/env bash
# Installs the library into a scratch prefix and builds the C samples the way a user would: with
# nothing but `pkg-config --cflags --libs diffuse`. Then runs them: version.c, and train_and_sample.c,
# which trains a few steps, prints status and writes a PNG grid.
set -euo pipefail
build_dir=$1 source_dir=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
pc_dir=$(dirname "$(find "$prefix" -name diffuse.pc)")
# The installed .pc finds its prefix from its own place: plain pkg-config, as README shows.
export PKG_CONFIG_PATH=$pc_dir
flags=$(pkg-config --cflags --libs diffuse)
libdir=$(pkg-config --variable=libdir diffuse)
for sample in version train_and_sample; do
  cc -std=c99 -Wall -Wextra -Werror -pedantic "$source_dir/samples/c/$sample.c" $flags -Wl,-rpath,"$libdir" \
     -o "$prefix/$sample"
done
"$prefix/version"
OMP_WAIT_POLICY=passive DIFFUSE_LOG_LEVEL=warn "$prefix/train_and_sample" "${DIFFUSE_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}" "$prefix/run" |
  tee "$prefix/train_and_sample.log"
grep -q "images_seen: 256" "$prefix/train_and_sample.log"
test -s "$prefix/run/samples.png"
