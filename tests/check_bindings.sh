#!/usr/bin/env bash
# Runs a program with every symbol bound at start-up and checks where the C++ runtime's symbols went:
# each symbol that any library of the process asks for with a libstdc++ version (GLIBCXX_*, CXXABI_*)
# must come from libstdc++.so.6 itself, and each GCC_* symbol from libgcc_s.so.1 (or from the program,
# which holds the copy-relocated data of both: vtables, type_info, std::cerr). The PyTorch wheel's
# libraries export unversioned copies of libstdc++ functions that ld.so would otherwise let win
# (cmake/torch.cmake says why that crashed).
#   tests/check_bindings.sh PROGRAM [ARGS...]
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

if ! LD_DEBUG=bindings LD_BIND_NOW=1 LD_DEBUG_OUTPUT="$dir/ld" "$@" >"$dir/out" 2>&1; then
  echo "check_bindings: '$*' failed:" >&2
  tail -20 "$dir/out" >&2
  exit 1
fi

program=$(readlink -f "$(command -v "$1")")
cat "$dir"/ld.* | awk -v program="$program" '
  / normal symbol `/ && match($0, /\[(GLIBCXX|CXXABI|GCC)_[0-9.]+\]$/) {
    version = substr($0, RSTART + 1, RLENGTH - 2)
    split($0, a, " to "); split(a[2], b, " "); provider = b[1]
    want = (version ~ /^GCC_/) ? "/libgcc_s.so.1" : "/libstdc++.so.6"
    checked++
    if (provider != program && substr(provider, length(provider) - length(want) + 1) != want) {
      bad++
      if (bad <= 10) print "  " version " symbol bound to " provider ": " $0
    }
  }
  END {
    if (checked < 100) { print "check_bindings: only " checked + 0 " runtime bindings seen; is LD_DEBUG honoured?"; exit 1 }
    if (bad) { print "check_bindings: " bad " of " checked " C++ runtime bindings go to another library"; exit 1 }
    print "check_bindings: " checked " C++ runtime bindings, all to libstdc++.so.6 / libgcc_s.so.1"
  }' >&2
