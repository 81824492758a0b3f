//! Configs and the shared training run of the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const STEPS: i64 = 8;

/// Fashion-MNIST in IDX format: $DIFFUSE_FASHION_MNIST, else Debian's dataset-fashion-mnist.
pub fn fashion_mnist_dir() -> String {
    std::env::var("DIFFUSE_FASHION_MNIST")
        .ok()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "/usr/share/datasets/fashion-mnist".to_string())
}

/// A tiny class-conditional model at 16x16 trained for `steps` steps of 32 images.
pub fn tiny_config(run_dir: &Path, steps: i64) -> String {
    let data = fashion_mnist_dir();
    format!(
        "model {{ img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2] \
         num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16 }} \
         data {{ train {{ format: IDX path: \"{data}/train-images-idx3-ubyte.gz\" \
         labels_path: \"{data}/train-labels-idx1-ubyte.gz\" }} resize: RESIZE }} \
         optimizer {{ rampup_images: 64 }} ema {{ sigma_rels: [0.05, 0.10] snapshot_images: 1024 }} \
         run {{ output_dir: \"{dir}\" batch_size: 32 duration_images: {images} status_images: 64 \
         checkpoint_images: 0 validation_images: 32 validation_interval_images: 0 threads: 1 }}",
        data = data,
        dir = run_dir.display(),
        images = steps * 32
    )
}

/// An empty directory under cargo's temporary directory for integration tests (in the target dir).
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("diffuse-{}", tag));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

static TRAINED: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The run directory of the tiny model trained for STEPS steps, trained once per test binary.
pub fn trained_run() -> PathBuf {
    let mut trained = TRAINED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(dir) = trained.as_ref() {
        return dir.clone();
    }
    diffuse::set_log_level(diffuse::LogLevel::Warn).unwrap();
    let dir = temp_dir("run").join("run");
    let trainer = diffuse::Trainer::create(&tiny_config(&dir, STEPS)).expect("tiny config trains");
    while !trainer.status().unwrap().done {
        trainer.run(4).unwrap();
    }
    *trained = Some(dir.clone());
    dir
}
