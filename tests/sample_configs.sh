#!/usr/bin/env bash
# Every TrainConfig under samples/configs/ parses and validates (`diffuse validate-config`).
set -uo pipefail
cli=$1 configs=$2
count=0 bad=0
for config in "$configs"/*.textproto; do
  if ! "$cli" validate-config "$config" >/dev/null; then
    bad=$((bad + 1))
  fi
  count=$((count + 1))
done
echo "$count sample configs, $bad invalid"
[ "$count" -gt 0 ] && [ "$bad" -eq 0 ]
