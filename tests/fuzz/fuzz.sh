#!/usr/bin/env bash
# The fuzz targets' runs, with their limits in one place.
#   fuzz.sh replay BIN_DIR TARGET           every file of corpus/TARGET and crashers/TARGET once (make test)
#   fuzz.sh run BIN_DIR SECONDS [TARGET...]  fuzz each target (default: all) for SECONDS, starting from its
#                                           corpus; new inputs go to BIN_DIR/corpus/TARGET, crashers to
#                                           BIN_DIR/crashers/TARGET (copy a crasher into crashers/ with its fix)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mode=$1 bin=$2
shift 2

# Limits: no input may make a target allocate more than 256 MB in one piece or 2 GB in all, or take
# more than 1 s (the resume target builds and steps a network: 5 s).
# The safetensors target reads headers: inputs of at most 8 KB keep it fast (whole files: fuzz_model_file).
limits() {
  local timeout=1
  [ "$1" = resume ] && timeout=5
  echo -malloc_limit_mb=256 -rss_limit_mb=2048 -timeout=$timeout
  [ "$1" = safetensors ] && echo -max_len=8192
  return 0
}
source "$here/../sanitize/options.sh"

case $mode in
  replay)
    target=$1
    files=()
    for dir in "$here/corpus/$target" "$here/crashers/$target"; do
      [ -d "$dir" ] || continue
      while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$dir" -type f -print0 | sort -z)
    done
    [ ${#files[@]} -gt 0 ] || { echo "no corpus for $target in $here/corpus/$target" >&2; exit 1; }
    echo "$target: ${#files[@]} inputs"
    # The target's own status decides, whatever the filter of its chatter finds.
    status=0
    # shellcheck disable=SC2046
    "$bin/fuzz_$target" $(limits "$target") "${files[@]}" >"$bin/replay-$target.log" 2>&1 || status=$?
    grep -v '^Running: \|^Executed .* in [0-9]* ms$\|^\*\*\*$\|^\*\*\* NOTE' "$bin/replay-$target.log" || true
    exit $status
    ;;
  run)
    seconds=$1
    shift
    targets=("$@")
    # Every target that tests/fuzz/CMakeLists.txt built.
    if [ ${#targets[@]} -eq 0 ]; then
      for f in "$bin"/fuzz_*; do if [ -x "$f" ]; then targets+=("${f##*/fuzz_}"); fi; done
    fi
    crashed=()
    for target in "${targets[@]}"; do
      mkdir -p "$bin/corpus/$target" "$bin/crashers/$target"
      cp -n "$here/corpus/$target"/* "$bin/corpus/$target/" 2>/dev/null || true
      echo "== $target ($seconds s)"
      status=0
      # shellcheck disable=SC2046
      "$bin/fuzz_$target" $(limits "$target") -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$bin/crashers/$target/" "$bin/corpus/$target" >"$bin/fuzz-$target.log" 2>&1 || status=$?
      grep -v '^#[0-9]*.*\(NEW\|REDUCE\|pulse\)\|NEW_FUNC' "$bin/fuzz-$target.log" || true
      [ $status -eq 0 ] || crashed+=("$target")
    done
    [ ${#crashed[@]} -eq 0 ] || { echo "crashed: ${crashed[*]} (inputs in $bin/crashers/)"; exit 1; }
    ;;
  *) echo "usage: fuzz.sh replay BIN_DIR TARGET | fuzz.sh run BIN_DIR SECONDS [TARGET...]" >&2; exit 2 ;;
esac
