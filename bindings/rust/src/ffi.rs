//! The C declarations of capi/diffuse.h, written by hand. `tests/ffi_matches_header.rs` parses the
//! header and fails when a function, constant or struct field here differs from it.
#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_double, c_int, c_void};

pub const DIFFUSE_VERSION_MAJOR: c_int = 0;
pub const DIFFUSE_VERSION_MINOR: c_int = 1;
pub const DIFFUSE_VERSION_PATCH: c_int = 0;
pub const DIFFUSE_ABI_VERSION: c_int = 0;

pub type diffuse_status = c_int;
pub const DIFFUSE_OK: diffuse_status = 0;
pub const DIFFUSE_E_INVALID_ARGUMENT: diffuse_status = 1;
pub const DIFFUSE_E_INVALID_CONFIG: diffuse_status = 2;
pub const DIFFUSE_E_IO: diffuse_status = 3;
pub const DIFFUSE_E_CORRUPT_FILE: diffuse_status = 4;
pub const DIFFUSE_E_OUT_OF_MEMORY: diffuse_status = 5;
pub const DIFFUSE_E_DEVICE_UNAVAILABLE: diffuse_status = 6;
pub const DIFFUSE_E_CANCELLED: diffuse_status = 7;
pub const DIFFUSE_E_BUSY: diffuse_status = 8;
pub const DIFFUSE_E_NOT_FOUND: diffuse_status = 9;
pub const DIFFUSE_E_INTERNAL: diffuse_status = 10;
pub const DIFFUSE_E_DIVERGED: diffuse_status = 11;
pub const DIFFUSE_E_PEER_LOST: diffuse_status = 12;

pub type diffuse_log_level = c_int;
pub const DIFFUSE_LOG_TRACE: diffuse_log_level = 0;
pub const DIFFUSE_LOG_DEBUG: diffuse_log_level = 1;
pub const DIFFUSE_LOG_INFO: diffuse_log_level = 2;
pub const DIFFUSE_LOG_WARN: diffuse_log_level = 3;
pub const DIFFUSE_LOG_ERROR: diffuse_log_level = 4;
pub const DIFFUSE_LOG_OFF: diffuse_log_level = 5;

pub type diffuse_format = c_int;
pub const DIFFUSE_FORMAT_BINARY: diffuse_format = 0;
pub const DIFFUSE_FORMAT_TEXT: diffuse_format = 1;
pub const DIFFUSE_FORMAT_JSON: diffuse_format = 2;

pub type diffuse_pixel_type = c_int;
pub const DIFFUSE_PIXELS_UINT8: diffuse_pixel_type = 0;
pub const DIFFUSE_PIXELS_FLOAT32: diffuse_pixel_type = 1;

pub const DIFFUSE_VALIDATION_SIGMAS: c_int = 10;

pub type diffuse_log_callback =
    Option<unsafe extern "C" fn(user: *mut c_void, level: diffuse_log_level, message: *const c_char)>;

#[repr(C)]
pub struct diffuse_buffer {
    pub data: *mut c_void,
    pub len: usize,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct diffuse_train_status {
    pub size: usize,
    pub images_seen: i64,
    pub images_total: i64,
    pub steps: i64,
    pub loss: c_double,
    pub learning_rate: c_double,
    pub beta1: c_double,
    pub images_per_second: c_double,
    pub seconds_per_step: c_double,
    pub elapsed_seconds: c_double,
    pub eta_seconds: c_double,
    pub validation_loss: c_double,
    pub done: c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct diffuse_images {
    pub size: usize,
    pub pixels: *const u8,
    pub labels: *const i64,
    pub count: usize,
    pub height: c_int,
    pub width: c_int,
    pub channels: c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct diffuse_eval_result {
    pub size: usize,
    pub num_images: i64,
    pub fd_cls: c_double,
    pub kid_cls: c_double,
    pub precision: c_double,
    pub recall: c_double,
    pub swd: c_double,
    pub validation_loss: c_double,
}

#[repr(C)]
pub struct diffuse_trainer {
    _private: [u8; 0],
}

#[repr(C)]
pub struct diffuse_model {
    _private: [u8; 0],
}

#[repr(C)]
pub struct diffuse_sampler {
    _private: [u8; 0],
}

extern "C" {
    pub fn diffuse_version() -> *const c_char;
    pub fn diffuse_version_number() -> c_int;
    pub fn diffuse_abi_version() -> c_int;
    pub fn diffuse_status_string(status: diffuse_status) -> *const c_char;
    pub fn diffuse_last_error() -> *const c_char;
    pub fn diffuse_log_set_level(level: diffuse_log_level) -> diffuse_status;
    pub fn diffuse_log_to_file(path: *const c_char) -> diffuse_status;
    pub fn diffuse_log_set_callback(callback: diffuse_log_callback, user: *mut c_void) -> diffuse_status;
    pub fn diffuse_set_num_threads(n: c_int) -> diffuse_status;
    pub fn diffuse_device_available(device: *const c_char, available: *mut c_int) -> diffuse_status;
    pub fn diffuse_world_join(rank: *mut c_int, world_size: *mut c_int) -> diffuse_status;
    pub fn diffuse_buffer_free(buffer: *mut diffuse_buffer);
    pub fn diffuse_train_config_resolve(
        config: *const c_void,
        len: usize,
        format: diffuse_format,
        out_format: diffuse_format,
        resolved: *mut diffuse_buffer,
    ) -> diffuse_status;
    pub fn diffuse_trainer_create(
        out: *mut *mut diffuse_trainer,
        config: *const c_void,
        len: usize,
        format: diffuse_format,
    ) -> diffuse_status;
    pub fn diffuse_trainer_create_with_images(
        out: *mut *mut diffuse_trainer,
        config: *const c_void,
        len: usize,
        format: diffuse_format,
        train: *const diffuse_images,
        validation: *const diffuse_images,
    ) -> diffuse_status;
    pub fn diffuse_trainer_resume(out: *mut *mut diffuse_trainer, run_dir: *const c_char) -> diffuse_status;
    pub fn diffuse_trainer_resume_with_images(
        out: *mut *mut diffuse_trainer,
        run_dir: *const c_char,
        train: *const diffuse_images,
        validation: *const diffuse_images,
    ) -> diffuse_status;
    pub fn diffuse_trainer_run(trainer: *mut diffuse_trainer, max_steps: i64, steps_taken: *mut i64) -> diffuse_status;
    pub fn diffuse_trainer_get_status(trainer: *mut diffuse_trainer, out: *mut diffuse_train_status) -> diffuse_status;
    pub fn diffuse_trainer_get_status_message(
        trainer: *mut diffuse_trainer,
        format: diffuse_format,
        out: *mut diffuse_buffer,
    ) -> diffuse_status;
    pub fn diffuse_trainer_request_stop(trainer: *mut diffuse_trainer) -> diffuse_status;
    pub fn diffuse_trainer_save_checkpoint(trainer: *mut diffuse_trainer) -> diffuse_status;
    pub fn diffuse_trainer_free(trainer: *mut diffuse_trainer);
    pub fn diffuse_model_open(
        out: *mut *mut diffuse_model,
        path: *const c_char,
        device: *const c_char,
        model_config: *const c_void,
        len: usize,
        format: diffuse_format,
    ) -> diffuse_status;
    pub fn diffuse_model_save(model: *mut diffuse_model, path: *const c_char, fp16: c_int) -> diffuse_status;
    pub fn diffuse_model_info(
        model: *mut diffuse_model,
        format: diffuse_format,
        config: *mut diffuse_buffer,
        num_parameters: *mut i64,
    ) -> diffuse_status;
    pub fn diffuse_model_shape(
        model: *mut diffuse_model,
        channels: *mut c_int,
        resolution: *mut c_int,
        label_dim: *mut c_int,
    ) -> diffuse_status;
    pub fn diffuse_model_free(model: *mut diffuse_model);
    pub fn diffuse_sampler_create(
        out: *mut *mut diffuse_sampler,
        model: *mut diffuse_model,
        guide: *mut diffuse_model,
        config: *const c_void,
        len: usize,
        format: diffuse_format,
    ) -> diffuse_status;
    pub fn diffuse_sampler_run(
        sampler: *mut diffuse_sampler,
        seeds: *const u64,
        labels: *const i64,
        count: usize,
        r#type: diffuse_pixel_type,
        images: *mut c_void,
        capacity: usize,
    ) -> diffuse_status;
    pub fn diffuse_sampler_run_to_buffer(
        sampler: *mut diffuse_sampler,
        seeds: *const u64,
        labels: *const i64,
        count: usize,
        r#type: diffuse_pixel_type,
        out: *mut diffuse_buffer,
    ) -> diffuse_status;
    pub fn diffuse_sampler_write_png_grid(
        sampler: *mut diffuse_sampler,
        seeds: *const u64,
        labels: *const i64,
        count: usize,
        columns: c_int,
        path: *const c_char,
    ) -> diffuse_status;
    pub fn diffuse_sampler_free(sampler: *mut diffuse_sampler);
    pub fn diffuse_phema_reconstruct(
        run_dir: *const c_char,
        sigma_rels: *const c_double,
        count: usize,
        nimg: i64,
        max_residual: c_double,
        force: c_int,
        out_dir: *const c_char,
        fp16: c_int,
        residuals: *mut c_double,
    ) -> diffuse_status;
    pub fn diffuse_validation_loss(
        model: *mut diffuse_model,
        images: *const diffuse_images,
        seed: u64,
        sigmas: *mut c_double,
        losses: *mut c_double,
        mean: *mut c_double,
    ) -> diffuse_status;
    pub fn diffuse_consistency(
        sampler: *mut diffuse_sampler,
        other: *mut diffuse_model,
        seeds: *const u64,
        labels: *const i64,
        count: usize,
        relative_msd: *mut c_double,
        cosine: *mut c_double,
    ) -> diffuse_status;
    pub fn diffuse_evaluate(
        model: *mut diffuse_model,
        config: *const c_void,
        len: usize,
        format: diffuse_format,
        result: *mut diffuse_eval_result,
    ) -> diffuse_status;
}
