//! Every function of diffuse.h beyond training from files and sampling bytes: versions, logging, the
//! world, host images (create and resume), the status message, validation loss, caller memory,
//! consistency and evaluation. One test: the log callback is process-wide.
mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use diffuse::{Format, Images, LogLevel, Model, Sampler, Status, Trainer};

/// 64 grey 16x16 images with a pattern per class, and their labels.
fn host_pixels() -> (Vec<u8>, Vec<i64>) {
    let (count, side) = (64usize, 16usize);
    let mut pixels = vec![0u8; count * side * side];
    let labels: Vec<i64> = (0..count as i64).map(|i| i % 10).collect();
    for i in 0..count {
        for p in 0..side * side {
            pixels[i * side * side + p] = ((i * 37 + p * (1 + i % 10)) % 256) as u8;
        }
    }
    (pixels, labels)
}

fn memory_config(run_dir: &Path) -> String {
    format!(
        "model {{ img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2] \
         num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16 }} \
         data {{ train {{ format: MEMORY }} }} optimizer {{ rampup_images: 64 }} \
         run {{ output_dir: \"{}\" batch_size: 16 duration_images: 160 status_images: 32 \
         checkpoint_images: 0 validation_images: 16 threads: 1 }}",
        run_dir.display()
    )
}

#[test]
fn the_rest_of_the_library() {
    let v = diffuse::version();
    let parts: Vec<i32> = v.split('.').map(|p| p.parse().unwrap()).collect();
    assert_eq!(diffuse::version_number(), parts[0] * 10000 + parts[1] * 100 + parts[2]);
    assert_eq!(diffuse::world_join().unwrap(), (0, 1));

    let dir = common::temp_dir("library");
    let run_dir = dir.join("memory-run");
    let (pixels, labels) = host_pixels();
    let images = Images::new(&pixels, 16, 16, 1).with_labels(&labels);
    let messages = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&messages);
    let log_file = dir.join("log.txt");
    diffuse::set_log_level(LogLevel::Info).unwrap();
    diffuse::set_log_callback(Some(Box::new(move |level, text| {
        sink.lock().unwrap().push(format!("{:?} {}", level, text));
    })))
    .unwrap();
    diffuse::log_to_file(Some(&log_file)).unwrap();
    {
        let trainer = Trainer::create_with_images(&memory_config(&run_dir), &images, None).unwrap();
        assert_eq!(trainer.run(2).unwrap(), 2);
        let text = String::from_utf8(trainer.status_message(Format::Text).unwrap()).unwrap();
        assert!(text.contains("steps: 2"), "{}", text);
        assert!(!trainer.status_message(Format::Json).unwrap().is_empty());
        trainer.save_checkpoint().unwrap();
    }
    diffuse::set_log_callback(None).unwrap();
    diffuse::log_to_file(None).unwrap();
    diffuse::set_log_level(LogLevel::Warn).unwrap();
    let run = run_dir.display().to_string();
    let before = {
        let m = messages.lock().unwrap();
        assert!(m.iter().any(|s| s.starts_with("Info ") && s.contains(&run)), "{:?}", m);
        m.len()
    };
    assert!(std::fs::read_to_string(&log_file).unwrap().contains(&run));
    let e = Trainer::resume(&run_dir).err().expect("a MEMORY run needs its images");
    assert!(e.message.contains("MEMORY"), "{}", e);
    assert_eq!(messages.lock().unwrap().len(), before, "no callback after removing it");
    let bad = [0u8; 100];
    let e = Trainer::create_with_images(&memory_config(&dir.join("bad")), &Images::new(&bad, 16, 16, 1), None)
        .err()
        .unwrap();
    assert_eq!(e.status, Status::InvalidArgument);
    assert!(e.message.contains("100 pixel values"), "{}", e);
    {
        let trainer = Trainer::resume_with_images(&run_dir, &images, None).unwrap();
        assert_eq!(trainer.status().unwrap().steps, 2);
        assert_eq!(trainer.run(1).unwrap(), 1);
    }

    let model = Model::open(run_dir.join("checkpoint-0000000.safetensors")).unwrap();
    let v = model.validation_loss(&images, 5).unwrap();
    assert_eq!(v.sigmas.len(), 10);
    assert!((v.sigmas[0] - 0.002).abs() < 1e-12 && (v.sigmas[9] - 80.0).abs() < 1e-9, "{:?}", v.sigmas);
    let mean = v.losses.iter().sum::<f64>() / 10.0;
    assert!((mean - v.mean).abs() <= 1e-9 * v.mean.abs(), "{:?}", v);
    assert_eq!(model.validation_loss(&images, 5).unwrap().mean, v.mean);

    let sampler = Sampler::new(&model, "num_steps: 4").unwrap();
    let (seeds, classes) = ([3u64, 4], [1i64, 2]);
    let mut bytes = vec![0u8; 2 * 256];
    sampler.sample_into(&seeds, Some(&classes), &mut bytes).unwrap();
    assert_eq!(bytes, sampler.sample(&seeds, Some(&classes)).unwrap());
    let mut floats = vec![0f32; 2 * 256];
    sampler.sample_float_into(&seeds, Some(&classes), &mut floats).unwrap();
    assert_eq!(floats, sampler.sample_float(&seeds, Some(&classes)).unwrap());
    let e = sampler.sample_into(&seeds, Some(&classes), &mut [0u8; 10]).err().unwrap();
    assert!(e.message.contains("capacity"), "{}", e);
    assert!(sampler.sample(&[], None).unwrap().is_empty());
    let c = sampler.consistency(&model, &seeds, Some(&classes)).unwrap();
    assert_eq!(c.relative_msd, 0.0);
    assert!((c.cosine - 1.0).abs() < 1e-6, "{:?}", c);

    let data = common::fashion_mnist_dir();
    let r = model
        .evaluate(&format!(
            "reference {{ format: IDX path: \"{data}/t10k-images-idx3-ubyte.gz\" \
             labels_path: \"{data}/t10k-labels-idx1-ubyte.gz\" }} resize: RESIZE \
             classifier: \"{src}/metrics/fashion-mnist-classifier.safetensors\" num_images: 10 k: 2 \
             sampler {{ num_steps: 2 }}",
            data = data,
            src = std::env::var("DIFFUSE_SOURCE_DIR").unwrap()
        ))
        .unwrap();
    assert_eq!(r.num_images, 10);
    assert!(r.fd_cls > 0.0 && r.swd > 0.0 && r.validation_loss > 0.0 && r.precision >= 0.0 && r.recall <= 1.0, "{:?}", r);
    let e = model.evaluate("num_images: 10").err().unwrap();
    assert!(e.message.contains("EvalConfig."), "{}", e);
}
