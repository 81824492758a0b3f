# Sourced by the dataset tests (png_zip_dataset.sh, latent_dataset.sh): a tiny run's config over a
# dataset, and the check that two datasets holding the same examples train the same run bit for bit.
# Needs $cli, $equal and fail().

# dataset_config FORMAT PATH OUTPUT_DIR CHANNELS [RESOLUTION] [DATA_FIELDS]: a 1 kimg run (0.2 M parameters).
dataset_config() {
  local resolution=${5:-16}
  cat <<CONFIG
model { img_resolution: $resolution img_channels: $4 label_dim: 10 model_channels: 16 channel_mult: [1, 2]
        num_blocks: 1 attn_resolutions: [$((resolution / 2))] channels_per_head: 32 logvar_channels: 16 }
data { train { format: $1 path: "$2" } ${6:-} }
optimizer { rampup_images: 320 }
ema { snapshot_images: 1024 }
run { output_dir: "$3" batch_size: 32 duration_images: 1024 status_images: 256 checkpoint_images: 1024
      validation_images: 16 validation_interval_images: 512 threads: 1 }
CONFIG
}

# train_alike WHAT CONFIG_A CONFIG_B: trains both (their output_dir: RUN_A, RUN_B) and fails unless the
# checkpoint and the EMA snapshots are the same tensors; prints how many files it compared.
train_alike() {
  local what=$1 a=$2 b=$3 out
  "$cli" train "$a" >"$a.log" 2>&1 || { cat "$a.log"; fail "training $a"; }
  "$cli" train "$b" >"$b.log" 2>&1 || { cat "$b.log"; fail "training $b"; }
  out=$("$equal" "$(sed -n 's/.*output_dir: "\([^"]*\)".*/\1/p' "$a")" "$(sed -n 's/.*output_dir: "\([^"]*\)".*/\1/p' "$b")" \
    --ignore state.elapsed_seconds --ignore config) || fail "$what: the runs differ: $out"
  [ "${out% files compared}" -ge 3 ] || fail "$what: too few files to compare: $out"  # the checkpoint, EMA snapshots
  echo "$what: $out"
}
