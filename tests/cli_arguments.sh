#!/usr/bin/env bash
# Hostile command-line arguments get a clear error naming the argument and exit 2 at once: never a hang
# (seed ranges that wrap, "-1" read as 2^64-1), never unbounded memory.
set -euo pipefail
cli=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

refused() {  # refused PHRASE ARGS...: exits 2 within 10 s, the message holding PHRASE
  local phrase=$1 status=0
  shift
  timeout 10 "$cli" "$@" >"$work/out.txt" 2>&1 || status=$?
  [ $status -eq 2 ] || { echo "FAIL: '$*' exited $status (want 2)"; cat "$work/out.txt"; exit 1; }
  grep -qF -- "$phrase" "$work/out.txt" || { echo "FAIL: '$*' did not say '$phrase':"; cat "$work/out.txt"; exit 1; }
}
refused "--seeds '-1': '-1' is not a seed" sample /no/model --seeds -1 --out "$work/x.png"
refused "more than 1000000 seeds" sample /no/model --seeds 0-18446744073709551615 --out "$work/x.png"
refused "more than 1000000 seeds" sample /no/model --seeds 18446744073709551000-18446744073709551615,0-999999 --out "$work/x.png"
refused "is not a range" sample /no/model --seeds 5- --out "$work/x.png"
refused "ends before it begins" sample /no/model --seeds 9-3 --out "$work/x.png"
refused "is not a seed" sample /no/model --seeds 18446744073709551616 --out "$work/x.png"
refused "is not a seed" consistency /no/a /no/b --seeds " 7"
refused "--nproc needs a number of processes in 1..1024, got '0'" train --nproc 0 /no/config.textproto
refused "--nproc needs a number of processes in 1..1024, got 'x'" sample --nproc x /no/model
# The largest seed is a seed: the command gets past the arguments and fails on the model file (1).
status=0
timeout 10 "$cli" sample /no/model --seeds 18446744073709551614-18446744073709551615 --out "$work/x.png" \
  >"$work/out.txt" 2>&1 || status=$?
[ $status -eq 1 ] && grep -q "/no/model" "$work/out.txt" || { echo "FAIL: the largest seeds: $status"; cat "$work/out.txt"; exit 1; }
echo "hostile arguments refused, naming them"
