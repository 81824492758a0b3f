//! Every failure of the library arrives as an Error with its status and message.
use diffuse::{Format, Model, Status, Trainer};

#[test]
fn version_matches_the_header() {
    let expected = format!(
        "{}.{}.{}",
        diffuse::ffi::DIFFUSE_VERSION_MAJOR,
        diffuse::ffi::DIFFUSE_VERSION_MINOR,
        diffuse::ffi::DIFFUSE_VERSION_PATCH
    );
    assert_eq!(diffuse::version(), expected);
    assert_eq!(diffuse::abi_version(), diffuse::ffi::DIFFUSE_ABI_VERSION);
}

#[test]
fn bad_config_is_invalid_config_naming_the_field() {
    let e = Trainer::create("run { batch_size: 0 }").err().expect("a bad config is refused");
    assert_eq!(e.status, Status::InvalidConfig);
    assert_eq!(e.name, "invalid config");
    assert!(e.message.contains("TrainConfig."), "{}", e);
    assert!(e.to_string().contains("invalid config"), "{}", e);
    let e = Trainer::create("run { no_such_field: 1 }").err().unwrap();
    assert!(e.message.contains("no_such_field"), "{}", e);
    let e = Trainer::create_from(br#"{"run": {"batchSize": "x"}}"#, Format::Json).err().unwrap();
    assert_eq!(e.status, Status::InvalidConfig);
}

#[test]
fn missing_and_corrupt_model_files() {
    let e = Model::open("/nonexistent.safetensors").err().unwrap();
    assert_eq!(e.status, Status::Io);
    assert!(e.message.contains("/nonexistent.safetensors"), "{}", e);
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("garbage.safetensors");
    std::fs::write(&file, b"not a safetensors file").unwrap();
    let e = Model::open(&file).err().unwrap();
    std::fs::remove_file(&file).unwrap();
    assert_eq!(e.status, Status::CorruptFile);
    let e = Trainer::resume("/nonexistent/run").err().unwrap();
    assert!(e.message.contains("/nonexistent/run"), "{}", e);
}

#[test]
fn nul_bytes_in_strings_are_invalid_arguments() {
    let e = Model::open("a\0b").err().unwrap();
    assert_eq!(e.status, Status::InvalidArgument);
    assert!(e.message.contains("NUL"), "{}", e);
}

#[test]
fn process_wide_settings_reject_bad_values() {
    assert_eq!(diffuse::set_num_threads(0).unwrap_err().status, Status::InvalidArgument);
    let e = diffuse::device_available("quantum").unwrap_err();
    assert!(e.message.contains("quantum"), "{}", e);
    assert!(diffuse::device_available("cpu").unwrap());
}

#[test]
fn resolved_config_has_the_defaults() {
    let resolved = diffuse::resolve_train_config(
        br#"{"run": {"outputDir": "/tmp/x", "durationImages": "4096"}, "data": {"train": {"format": "IDX", "path": "/x"}}}"#,
        Format::Json,
        Format::Text,
    )
    .unwrap();
    assert!(String::from_utf8(resolved).unwrap().contains("batch_size: 2048"));
    let e = diffuse::resolve_train_config(
        b"run { output_dir: \"/tmp/x\" duration_images: 10 batch_size: 4 batch_per_step: 3 }",
        Format::Text,
        Format::Text,
    )
    .unwrap_err();
    assert!(e.message.contains("batch_per_step"), "{}", e);
}
