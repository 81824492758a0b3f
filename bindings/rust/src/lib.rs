//! Safe Rust bindings of libdiffuse (capi/diffuse.h): train EDM2 diffusion models, sample images and
//! reconstruct post-hoc EMAs.
//!
//! * Errors: every failure is an [`Error`] carrying the C status code and the library's message.
//! * Ownership: [`Trainer`] and [`Model`] own their C handles and free them on `Drop`.
//! * Threads: both are `Send + Sync`. A trainer takes one call at a time (a concurrent `run` fails with
//!   [`Status::Busy`]), except `status` and `request_stop`, which may come from any thread during
//!   `run`; any number of threads may sample from one model, while `save` needs `&mut`.
//!
//! The crate links `libdiffuse.so` found in `DIFFUSE_LIB_DIR` (see build.rs).

pub mod ffi;

mod error;
mod images;
mod library;
mod metrics;
mod model;
mod posthoc;
mod sampler;
mod trainer;

pub use error::{Error, Result, Status};
pub use images::Images;
pub use library::{abi_version, device_available, log_to_file, resolve_train_config, set_log_callback, set_log_level,
                  set_num_threads, version, version_number, world_join, Format, LogCallback, LogLevel};
pub use metrics::{Consistency, EvalResult, ValidationLoss};
pub use model::{Model, Shape};
pub use posthoc::{posthoc_ema, posthoc_ema_with, PostHocOptions};
pub use sampler::Sampler;
pub use trainer::{TrainStatus, Trainer};
