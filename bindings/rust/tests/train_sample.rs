//! Trains the tiny model on Fashion-MNIST once, then checks status, models, sampling and post-hoc EMA.
mod common;

use diffuse::{posthoc_ema, Model, Sampler, Status, Trainer};

#[test]
fn training_reports_status_and_writes_checkpoint_and_snapshots() {
    let dir = common::temp_dir("status").join("run");
    let trainer = Trainer::create(&common::tiny_config(&dir, 4)).unwrap();
    assert_eq!(trainer.run(3).unwrap(), 3);
    let s = trainer.status().unwrap();
    assert_eq!((s.steps, s.images_seen, s.images_total, s.done), (3, 96, 128, false));
    assert!(s.loss.is_finite() && s.learning_rate > 0.0, "{:?}", s);
    assert_eq!(trainer.run(10).unwrap(), 1);
    assert!(trainer.status().unwrap().done);
    drop(trainer);
    for name in ["checkpoint-0000000.safetensors", "ema-0.050-0000000.safetensors", "ema-0.100-0000000.safetensors"] {
        assert!(dir.join(name).exists(), "{} missing", name);
    }
    let resumed = Trainer::resume(&dir).unwrap();
    assert_eq!(resumed.status().unwrap().images_seen, 128);
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn model_reports_shape_and_config() {
    let model = Model::open(common::trained_run().join("checkpoint-0000000.safetensors")).unwrap();
    let shape = model.shape().unwrap();
    assert_eq!((shape.channels, shape.resolution, shape.label_dim), (1, 16, 10));
    assert!(model.num_parameters().unwrap() > 100_000);
    let config = String::from_utf8(model.config(diffuse::Format::Text).unwrap()).unwrap();
    assert!(config.contains("img_resolution: 16"), "{}", config);
}

#[test]
fn samples_depend_only_on_their_seed_and_label() {
    let model = Model::open(common::trained_run().join("ema-0.100-0000000.safetensors")).unwrap();
    let sampler = Sampler::new(&model, "num_steps: 4").unwrap();
    let batch = sampler.sample(&[7, 8, 9], Some(&[0, 3, -1])).unwrap();
    assert_eq!(batch.len(), 3 * 256);
    let single = sampler.sample(&[9], Some(&[-1])).unwrap();
    let max_diff = (0..256).map(|i| (single[i] as i32 - batch[512 + i] as i32).abs()).max().unwrap();
    assert!(max_diff <= 1, "image alone vs in a batch: {}", max_diff);
    let dpm = Sampler::new(&model, "num_steps: 4 solver: DPMPP_2M schedule: LOG_LINEAR").unwrap();
    assert_eq!(dpm.sample_float(&[7, 8, 9], None).unwrap().len(), 3 * 256);
    // Several threads sample from one model at once.
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            (0..3).map(|_| scope.spawn(|| sampler.sample(&[7, 8, 9], Some(&[0, 3, -1])).unwrap())).collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), batch);
        }
    });
}

#[test]
fn bad_sampler_inputs_are_errors() {
    let model = Model::open(common::trained_run().join("checkpoint-0000000.safetensors")).unwrap();
    let e = Sampler::new(&model, "num_steps: 0").err().unwrap();
    assert_eq!(e.status, Status::InvalidConfig);
    assert!(e.message.contains("SamplerConfig.num_steps"), "{}", e);
    let sampler = Sampler::new(&model, "").unwrap();
    let e = sampler.sample(&[1, 2], Some(&[0])).unwrap_err();
    assert_eq!(e.status, Status::InvalidArgument);
    let e = sampler.sample(&[1], Some(&[10])).unwrap_err();
    assert_eq!(e.status, Status::InvalidArgument);
}

#[test]
fn grid_is_a_png() {
    let dir = common::trained_run();
    let model = Model::open(dir.join("checkpoint-0000000.safetensors")).unwrap();
    let grid = dir.join("grid-rust.png");
    Sampler::new(&model, "num_steps: 2").unwrap().sample_grid(&[0, 1, 2, 3], Some(&[0, 1, 2, 3]), 2, &grid).unwrap();
    assert!(std::fs::read(&grid).unwrap().starts_with(b"\x89PNG"));
}

#[test]
fn posthoc_ema_reproduces_a_tracked_profile_and_refuses_a_short_one() {
    let dir = common::trained_run();
    let out = dir.join("phema");
    let residuals = posthoc_ema(&dir, &[0.10], &out).unwrap();
    assert!(residuals.len() == 1 && residuals[0] >= 0.0 && residuals[0] < 1e-6, "{:?}", residuals);
    assert!(out.join("phema-0.100-0000000.safetensors").exists());
    let e = posthoc_ema(&dir, &[0.01], &out).unwrap_err();
    assert_eq!(e.status, Status::InvalidArgument);
    assert!(e.message.contains("0.01"), "{}", e);
}
