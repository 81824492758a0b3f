#!/usr/bin/env bash
# The stable-ABI check (README "ABI policy"). The ABI is the header and the SONAME: tests/abi_probe.py
# turns capi/diffuse.h into a C file that defines every function, compiled with debug information it
# carries exactly the header's types for libabigail (the library's own debug information would bring
# its C++ internals). abidiff compares it with the committed baseline abi/libdiffuse.so.<ABI>.abi: an
# incompatible change (a function removed or changed, a struct or enum changed) fails unless the
# library's ABI version is no longer the baseline's; compatible additions pass with a note to refresh
# the baseline. The library must export exactly the header's functions.
#   tests/abi_check.sh LIBRARY SOURCE_DIR           check
#   tests/abi_check.sh --write LIBRARY SOURCE_DIR   write the baseline (make abi-baseline)
set -uo pipefail
write=0
[[ ${1:-} == --write ]] && { write=1; shift; }
lib=$1 source=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
abi=${soname##*.so.}
baseline=$source/abi/libdiffuse.so.$abi.abi

python3 "$source/tests/abi_probe.py" "$source/capi/diffuse.h" "$work/probe.c" || exit 1
cc -std=c99 -g -O0 -fPIC -shared -Wall -Werror -Wno-unused-parameter -I"$source/capi" "$work/probe.c" \
   -Wl,-soname,"$soname" -o "$work/$soname" || exit 1

# The library exports what the header declares, no more, no less.
nm -D --defined-only "$work/$soname" | awk '$3 ~ /^diffuse_/ {print $3}' | sort >"$work/header.txt"
nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | grep -v '^DIFFUSE_' | sort -u >"$work/library.txt"
if ! diff -u "$work/header.txt" "$work/library.txt" >"$work/symbols.diff"; then
  echo "FAIL: the library's exported functions differ from capi/diffuse.h's (- header, + library):"
  cat "$work/symbols.diff"
  exit 1
fi

if ((write)); then
  abidw --no-show-locs --no-corpus-path "$work/$soname" >"$baseline" && echo "wrote $baseline" && exit 0
  exit 1
fi
if [[ ! -f $baseline ]]; then
  if compgen -G "$source/abi/libdiffuse.so.*.abi" >/dev/null; then
    echo "ABI version $abi has no baseline yet (the ABI was bumped): write it with make abi-baseline"
    exit 0
  fi
  echo "FAIL: no ABI baseline in $source/abi"
  exit 1
fi
# Anything but added functions (a removed or changed function, a changed struct, enum or typedef) breaks
# programs built against the baseline: abidiff reports those also with --no-added-syms.
report=$(abidiff --no-show-locs --no-added-syms "$baseline" "$work/$soname")
rc=$?
if ((rc & 12)); then
  echo "$report" | head -80
  echo "FAIL: an incompatible change of $soname's ABI: keep it, or bump DIFFUSE_ABI_VERSION (CMakeLists.txt)"
  exit 1
elif ((rc != 0)); then
  echo "$report"
  echo "FAIL: abidiff could not compare (exit $rc)"
  exit 1
fi
if ! abidiff --no-show-locs "$baseline" "$work/$soname" >"$work/added.txt"; then
  grep -E "Added|^  '" "$work/added.txt" | head -20
  echo "compatible additions against $(basename "$baseline"): refresh it with make abi-baseline"
fi
echo "ABI of $soname: $(wc -l <"$work/header.txt") functions, compatible with the baseline"
