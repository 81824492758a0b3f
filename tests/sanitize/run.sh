#!/usr/bin/env bash
# Runs a test under the sanitizer options of options.sh: run.sh COMMAND [ARG...]
source "$(dirname "$0")/options.sh"
exec "$@"
