# Sourced by the sanitized runs (tests/sanitize/run.sh, tests/fuzz/fuzz.sh): the sanitizer options, in
# one place. A caller's own settings win.
sanitize_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Every report is fatal; leaks are reports (uninstrumented libraries' process-lifetime allocations are
# suppressed in lsan.supp, ours never).
# An allocation too large to serve returns NULL (as malloc does), so that the out-of-memory paths run.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:check_initialization_order=1:allocator_may_return_null=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$sanitize_dir/lsan.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Uninstrumented libraries (LibTorch, libgomp) synchronise where TSan cannot see it: their interceptor
# calls are not judged, every access of our own code is.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$sanitize_dir/tsan.supp}
