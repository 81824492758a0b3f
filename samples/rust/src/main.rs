//! Trains a tiny class-conditional diffusion model on Fashion-MNIST from Rust, then runs post-hoc EMA
//! and samples a grid of images:
//!
//!     train-fashion-mnist RUN_DIR [STEPS]
//!
//! RUN_DIR receives the checkpoint, EMA snapshots, phema/ and samples.png. Fashion-MNIST is read from
//! $DIFFUSE_FASHION_MNIST (default: Debian's dataset-fashion-mnist). An existing run is resumed.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use diffuse::{Model, Sampler, Trainer};

fn config(run_dir: &Path, steps: i64) -> String {
    let data = std::env::var("DIFFUSE_FASHION_MNIST")
        .ok()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "/usr/share/datasets/fashion-mnist".to_string());
    format!(
        r#"model {{ img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2]
        num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16 }}
data {{ train {{ format: IDX path: "{data}/train-images-idx3-ubyte.gz"
               labels_path: "{data}/train-labels-idx1-ubyte.gz" }}
       resize: RESIZE }}
optimizer {{ rampup_images: 64 }}
ema {{ sigma_rels: [0.05, 0.10] snapshot_images: 1024 }}
run {{ output_dir: "{dir}" batch_size: 32 duration_images: {images}
      status_images: 64 checkpoint_images: 0 validation_images: 32 validation_interval_images: 0 }}"#,
        data = data,
        dir = run_dir.display(),
        images = steps * 32
    )
}

fn run(run_dir: &Path, steps: i64) -> diffuse::Result<()> {
    println!("libdiffuse {}", diffuse::version());
    diffuse::set_log_level(diffuse::LogLevel::Warn)?;
    {
        let trainer = if run_dir.join("config.textproto").exists() {
            Trainer::resume(run_dir)?
        } else {
            Trainer::create(&config(run_dir, steps))?
        };
        while !trainer.status()?.done {
            trainer.run(2)?;
            let s = trainer.status()?;
            println!("  {}/{} images, {} steps, loss {:.4}, {:.0} img/s", s.images_seen, s.images_total, s.steps,
                     s.loss, s.images_per_second);
        }
    }

    // Post-hoc EMA from the run's snapshots, then a grid with one column per class.
    let phema_dir = run_dir.join("phema");
    let residuals = diffuse::posthoc_ema(run_dir, &[0.10], &phema_dir)?;
    println!("post-hoc EMA sigma_rel 0.10: residual {:.2e}", residuals[0]);
    let phema = std::fs::read_dir(&phema_dir)
        .ok()
        .and_then(|entries| {
            entries.filter_map(|e| e.ok().map(|e| e.path())).find(|p| {
                p.file_name().map_or(false, |n| n.to_string_lossy().starts_with("phema-0.100-"))
            })
        })
        .expect("post-hoc EMA output");
    let model = Model::open(&phema)?;
    let shape = model.shape()?;
    println!("model: {} parameters, {}x{}x{}, {} classes", model.num_parameters()?, shape.channels, shape.resolution,
             shape.resolution, shape.label_dim);
    let seeds: Vec<u64> = (0..20).collect();
    let labels: Vec<i64> = (0..20).map(|i| i % 10).collect();
    let grid = run_dir.join("samples.png");
    Sampler::new(&model, "num_steps: 8")?.sample_grid(&seeds, Some(&labels), 10, &grid)?;
    println!("samples: {}", grid.display());
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 2 {
        eprintln!("usage: train-fashion-mnist RUN_DIR [STEPS]");
        return ExitCode::from(2);
    }
    let steps = args.get(2).map_or(8, |s| s.parse().expect("STEPS is a number"));
    let run_dir = std::env::current_dir().map(|d| d.join(&args[1])).unwrap_or_else(|_| PathBuf::from(&args[1]));
    match run(&run_dir, steps) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", e);
            ExitCode::FAILURE
        }
    }
}
