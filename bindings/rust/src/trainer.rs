use std::path::Path;
use std::ptr::{self, NonNull};

use crate::error::{c_path, check, Result};
use crate::ffi;
use crate::images::Images;
use crate::library::{take_buffer, Format};

/// A training run: network, optimizer, EMAs, data loader and run directory. Dropping it releases
/// the run (no checkpoint is written).
pub struct Trainer {
    raw: NonNull<ffi::diffuse_trainer>,
}

// SAFETY: the C API allows every trainer call from any thread and refuses concurrent ones with BUSY.
unsafe impl Send for Trainer {}
unsafe impl Sync for Trainer {}

/// Progress of a run as of its last completed step.
#[derive(Clone, Copy, Debug)]
pub struct TrainStatus {
    pub images_seen: i64,
    pub images_total: i64,
    pub steps: i64,
    /// Mean loss per element of the last step (NaN before the first).
    pub loss: f64,
    pub learning_rate: f64,
    pub beta1: f64,
    pub images_per_second: f64,
    pub seconds_per_step: f64,
    pub elapsed_seconds: f64,
    pub eta_seconds: f64,
    /// Last validation loss (NaN before the first).
    pub validation_loss: f64,
    pub done: bool,
}

impl Trainer {
    /// Starts a new run from a text-format TrainConfig.
    pub fn create(config: &str) -> Result<Trainer> {
        Trainer::create_from(config.as_bytes(), Format::Text)
    }

    /// Starts a new run from a TrainConfig in any format.
    pub fn create_from(config: &[u8], format: Format) -> Result<Trainer> {
        let mut raw = ptr::null_mut();
        // SAFETY: `config` is valid for its length; `raw` receives the handle.
        check(unsafe { ffi::diffuse_trainer_create(&mut raw, config.as_ptr().cast(), config.len(), format.raw()) })?;
        Ok(Trainer { raw: NonNull::new(raw).expect("diffuse_trainer_create returned OK and NULL") })
    }

    /// Starts a new run whose text-format TrainConfig reads MEMORY data from `train` (and from
    /// `validation` when its validation data is MEMORY too).
    pub fn create_with_images(config: &str, train: &Images<'_>, validation: Option<&Images<'_>>) -> Result<Trainer> {
        Trainer::create_with_images_from(config.as_bytes(), Format::Text, train, validation)
    }

    /// `create_with_images` for a TrainConfig in any format.
    pub fn create_with_images_from(config: &[u8], format: Format, train: &Images<'_>,
                                   validation: Option<&Images<'_>>) -> Result<Trainer> {
        let train = train.raw()?;
        let validation = validation.map(|v| v.raw()).transpose()?;
        let validation_ptr = validation.as_ref().map_or(ptr::null(), |v| v as *const ffi::diffuse_images);
        let mut raw = ptr::null_mut();
        // SAFETY: config bytes valid for their length; the images stay borrowed for the call.
        check(unsafe {
            ffi::diffuse_trainer_create_with_images(&mut raw, config.as_ptr().cast(), config.len(), format.raw(), &train,
                                                    validation_ptr)
        })?;
        Ok(Trainer { raw: NonNull::new(raw).expect("diffuse_trainer_create_with_images returned OK and NULL") })
    }

    /// Continues a MEMORY-data run: the same images handed in again.
    pub fn resume_with_images(run_dir: impl AsRef<Path>, train: &Images<'_>, validation: Option<&Images<'_>>)
                              -> Result<Trainer> {
        let dir = c_path("run_dir", run_dir.as_ref())?;
        let train = train.raw()?;
        let validation = validation.map(|v| v.raw()).transpose()?;
        let validation_ptr = validation.as_ref().map_or(ptr::null(), |v| v as *const ffi::diffuse_images);
        let mut raw = ptr::null_mut();
        // SAFETY: a valid C string; the images stay borrowed for the call.
        check(unsafe { ffi::diffuse_trainer_resume_with_images(&mut raw, dir.as_ptr(), &train, validation_ptr) })?;
        Ok(Trainer { raw: NonNull::new(raw).expect("diffuse_trainer_resume_with_images returned OK and NULL") })
    }

    /// Continues the run in `run_dir` exactly where its newest checkpoint left it.
    pub fn resume(run_dir: impl AsRef<Path>) -> Result<Trainer> {
        let dir = c_path("run_dir", run_dir.as_ref())?;
        let mut raw = ptr::null_mut();
        // SAFETY: valid C string; `raw` receives the handle.
        check(unsafe { ffi::diffuse_trainer_resume(&mut raw, dir.as_ptr()) })?;
        Ok(Trainer { raw: NonNull::new(raw).expect("diffuse_trainer_resume returned OK and NULL") })
    }

    /// Trains up to `max_steps` optimizer steps; returns the number taken (fewer once done).
    pub fn run(&self, max_steps: i64) -> Result<i64> {
        let mut taken = 0;
        // SAFETY: a live handle and an out pointer.
        check(unsafe { ffi::diffuse_trainer_run(self.raw.as_ptr(), max_steps, &mut taken) })?;
        Ok(taken)
    }

    /// Progress as of the last completed step.
    pub fn status(&self) -> Result<TrainStatus> {
        // SAFETY: all-zero is a valid diffuse_train_status; `size` tells the library how much to fill.
        let mut s: ffi::diffuse_train_status = unsafe { std::mem::zeroed() };
        s.size = std::mem::size_of::<ffi::diffuse_train_status>();
        // SAFETY: a live handle and an out pointer.
        check(unsafe { ffi::diffuse_trainer_get_status(self.raw.as_ptr(), &mut s) })?;
        Ok(TrainStatus {
            images_seen: s.images_seen,
            images_total: s.images_total,
            steps: s.steps,
            loss: s.loss,
            learning_rate: s.learning_rate,
            beta1: s.beta1,
            images_per_second: s.images_per_second,
            seconds_per_step: s.seconds_per_step,
            elapsed_seconds: s.elapsed_seconds,
            eta_seconds: s.eta_seconds,
            validation_loss: s.validation_loss,
            done: s.done != 0,
        })
    }

    /// The progress as a TrainStatus message in `format`, with the run directory.
    pub fn status_message(&self, format: Format) -> Result<Vec<u8>> {
        let mut buffer = ffi::diffuse_buffer { data: ptr::null_mut(), len: 0 };
        // SAFETY: a live handle; the buffer is filled by the library.
        check(unsafe { ffi::diffuse_trainer_get_status_message(self.raw.as_ptr(), format.raw(), &mut buffer) })?;
        Ok(take_buffer(&mut buffer))
    }

    /// Makes the current (or next) `run` write a checkpoint and return after its step.
    pub fn request_stop(&self) -> Result<()> {
        // SAFETY: a live handle.
        check(unsafe { ffi::diffuse_trainer_request_stop(self.raw.as_ptr()) })
    }

    /// Writes a checkpoint into the run directory now.
    pub fn save_checkpoint(&self) -> Result<()> {
        // SAFETY: a live handle.
        check(unsafe { ffi::diffuse_trainer_save_checkpoint(self.raw.as_ptr()) })
    }
}

impl Drop for Trainer {
    fn drop(&mut self) {
        // SAFETY: the handle is owned and freed once; `&mut self` excludes other calls.
        unsafe { ffi::diffuse_trainer_free(self.raw.as_ptr()) }
    }
}
