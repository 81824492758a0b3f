#!/usr/bin/env bash
# Builds the Debian packages of BUILD_DIR (cpack) into a scratch directory and checks what a user of
# apt gets: the three packages, their files, Depends computed by dpkg-shlibdeps (LibTorch among them),
# the runtime package's shlibs file, and -dev/-tools depending on the runtime package.
#   tests/debian_packages.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
(cd "$build" && cpack -G DEB -B "$out" >"$out/cpack.log" 2>&1) || { cat "$out/cpack.log"; exit 1; }
fail() { echo "FAIL: $*"; exit 1; }
deb() { ls "$out"/"$1"_*.deb 2>/dev/null | head -1; }
runtime=$(deb libdiffuse0) dev=$(deb libdiffuse-dev) tools=$(deb diffuse-tools)
[[ -n $runtime && -n $dev && -n $tools ]] || fail "packages missing: $(ls "$out")"

field() { dpkg-deb -f "$1" "$2"; }
files() { dpkg-deb -c "$1" | awk '{print $6}'; }

files "$runtime" | grep -qE '^\./usr/lib/(.*/)?libdiffuse\.so\.0$' || fail "libdiffuse0 lacks libdiffuse.so.0"
files "$runtime" | grep -qE 'libdiffuse\.so$' && fail "libdiffuse0 carries the development link libdiffuse.so"
depends=$(field "$runtime" Depends)
[[ $depends == *libtorch* && $depends == *libprotobuf* ]] || fail "libdiffuse0 Depends lacks LibTorch/protobuf: $depends"
mkdir "$out/control" && dpkg-deb -e "$runtime" "$out/control"
grep -qE '^libdiffuse 0 libdiffuse0' "$out/control/shlibs" || fail "no shlibs entry: $(cat "$out/control/shlibs" 2>&1)"

for f in '/usr/include/diffuse.h$' 'libdiffuse\.so$' '/pkgconfig/diffuse\.pc$' '/cmake/diffuse/diffuseConfig\.cmake$' \
         '/share/diffuse/schemas/diffuse/v1/diffuse\.proto$'; do
  files "$dev" | grep -qE "$f" || fail "libdiffuse-dev lacks $f"
done
[[ $(field "$dev" Depends) == *"libdiffuse0 (= "* ]] || fail "libdiffuse-dev Depends: $(field "$dev" Depends)"
for f in '^\./usr/bin/diffuse$' '/share/diffuse/configs/fashion-mnist-demo\.textproto$' \
         '/share/diffuse/metrics/fashion-mnist-classifier\.safetensors$'; do
  files "$tools" | grep -qE "$f" || fail "diffuse-tools lacks $f"
done
[[ $(field "$tools" Depends) == *libdiffuse0* ]] || fail "diffuse-tools Depends: $(field "$tools" Depends)"
for p in "$runtime" "$dev" "$tools"; do
  echo "$(field "$p" Package) $(field "$p" Version): Depends: $(field "$p" Depends)"
done
