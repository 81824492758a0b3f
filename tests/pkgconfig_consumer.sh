#!/usr/bin/env bash
# Installs the library into a scratch prefix and builds samples/c/version.c the way a user would:
# with nothing but `pkg-config --cflags --libs diffuse`.
set -euo pipefail
build_dir=$1 source_dir=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
pc_dir=$(dirname "$(find "$prefix" -name diffuse.pc)")
# The installed .pc was configured for CMAKE_INSTALL_PREFIX; point it at the scratch prefix.
export PKG_CONFIG_PATH=$pc_dir
flags=$(pkg-config --define-variable=prefix="$prefix" --cflags --libs diffuse)
libdir=$(pkg-config --define-variable=prefix="$prefix" --variable=libdir diffuse)
cc -std=c99 -Wall -Wextra -Werror -pedantic "$source_dir/samples/c/version.c" $flags -Wl,-rpath,"$libdir" \
   -o "$prefix/version"
"$prefix/version"
