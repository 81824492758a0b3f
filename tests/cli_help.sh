#!/usr/bin/env bash
# The CLI explains itself: `diffuse --help` and `diffuse COMMAND --help` print on stdout and exit 0, each
# command's help lists every one of its options (the lists below) with an example, and each option it
# lists is accepted; a bad command line exits 2 with a message naming the bad argument.
set -euo pipefail
cli=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

declare -A options=(
  [train]="--resume --nproc"
  [sample]="--out --seeds --class --class-rows --columns --steps --solver --schedule --eta --guide --guidance --cpu-workers --sampler --model-config --device --nproc"
  [phema]="--sigma-rel --out --nimg --force --fp32"
  [eval]="--model-config --device --nproc"
  [consistency]="--seeds --steps --device"
  [info]="--model-config"
  [validate-config]=""
)

"$cli" --help >"$work/out" 2>"$work/err" || fail "diffuse --help exited $?"
[ ! -s "$work/err" ] || fail "diffuse --help wrote to stderr"
for command in "${!options[@]}"; do
  grep -q "^  $command " "$work/out" || fail "diffuse --help does not list $command"
done
grep -q "exit status" "$work/out" || fail "diffuse --help does not explain the exit status"

for command in "${!options[@]}"; do
  for flag in --help -h; do
    "$cli" "$command" "$flag" >"$work/out" 2>"$work/err" || fail "diffuse $command $flag exited $?"
    [ ! -s "$work/err" ] || fail "diffuse $command $flag wrote to stderr: $(cat "$work/err")"
  done
  grep -q "^usage: diffuse $command" "$work/out" || fail "diffuse $command --help has no usage line"
  grep -q "^examples:" "$work/out" || fail "diffuse $command --help has no example"
  for option in ${options[$command]}; do
    grep -q "^  $option\b" "$work/out" || fail "diffuse $command --help does not list $option"
  done
  # Every option the help lists is one the command knows: given all at once (--nproc apart, which
  # launches workers), none is named unknown.
  listed=()
  for option in $(grep -o '^  --[a-z0-9-]*' "$work/out" | tr -d ' '); do
    [ "$option" = --help ] || [ "$option" = --nproc ] || listed+=("$option" 1)
  done
  timeout 20 "$cli" "$command" "${listed[@]}" >"$work/o" 2>&1 || true
  ! grep -q "unknown option" "$work/o" || fail "diffuse $command refuses an option its help lists: $(cat "$work/o")"
  # An unknown option: exit 2, named.
  status=0
  "$cli" "$command" --no-such-option >"$work/o" 2>&1 || status=$?
  [ $status -eq 2 ] && grep -q "unknown option '--no-such-option'" "$work/o" || fail "diffuse $command --no-such-option: $status $(cat "$work/o")"
done

refused() {  # refused PHRASE ARGS...: exit 2, the message holding PHRASE
  local phrase=$1 status=0
  shift
  timeout 10 "$cli" "$@" >"$work/o" 2>&1 || status=$?
  [ $status -eq 2 ] || fail "'$*' exited $status (want 2): $(cat "$work/o")"
  grep -qF -- "$phrase" "$work/o" || fail "'$*' did not say '$phrase': $(cat "$work/o")"
}
refused "unknown command 'trian'" trian x
refused "no command given"
refused "give either CONFIG or --resume RUN" train
refused "give either CONFIG or --resume RUN" train a.textproto --resume runs/x
refused "unexpected argument 'b'" info a b
refused "missing MODEL" sample --out x.png
refused "--out FILE.png or FILE.npy is required" sample model.safetensors
refused "--steps: 'many' is not an integer in [1, 10000]" sample m --out x.png --steps many
refused "--class: '-3' is not an integer" sample m --out x.png --class -3
refused "--eta: '2' is not a number in [0, 1]" sample m --out x.png --eta 2
refused "--solver: 'rk4' is not heun" sample m --out x.png --solver rk4
refused "--schedule: 'cosine' is not edm or log-linear" sample m --out x.png --schedule cosine
refused "--cpu-workers: '0' is not an integer in [1, 4096]" sample m --out x.png --cpu-workers 0
refused "--guidance needs --guide MODEL" sample m --out x.png --guidance 2
refused "--seeds needs a value" sample m --out x.png --seeds
refused "--out given twice" sample m --out x.png --out y.png
refused "--sigma-rel: 'small' is not a list of numbers" phema run --sigma-rel small --out d
refused "--sigma-rel S[,S...] is required" phema run --out d
refused "--nimg: 'x' is not an integer" phema run --sigma-rel 0.1 --out d --nimg x
refused "missing MODEL_A MODEL_B" consistency a
refused "--steps: '0' is not an integer in [1, 10000]" consistency a b --steps 0
echo "the CLI explains every command and names every bad argument"
