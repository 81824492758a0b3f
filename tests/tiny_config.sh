# Sourced by the CLI tests: tiny_config RUN_FIELDS [MODEL_FIELDS] [DATA_FIELDS] prints the tests' tiny
# run (a 0.2 M-parameter class-conditional 16x16 model on Fashion-MNIST), with the given run { } fields
# and extra model and data fields.
data=${DIFFUSE_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
tiny_config() {
  cat <<CONFIG
model { img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2]
        num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16 ${2:-} }
data { train { format: IDX path: "$data/train-images-idx3-ubyte.gz"
               labels_path: "$data/train-labels-idx1-ubyte.gz" } resize: RESIZE ${3:-} }
optimizer { rampup_images: 320 }
ema { snapshot_images: 1024 }
run { $1 }
CONFIG
}
