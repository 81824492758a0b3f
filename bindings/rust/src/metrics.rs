use std::ptr;

use crate::error::{check, Result};
use crate::ffi;
use crate::images::Images;
use crate::library::Format;
use crate::model::Model;
use crate::sampler::{check_labels, Sampler};

/// The validation loss at the DIFFUSE_VALIDATION_SIGMAS fixed noise levels a run writes to stats.jsonl.
#[derive(Clone, Debug)]
pub struct ValidationLoss {
    pub sigmas: Vec<f64>,
    pub losses: Vec<f64>,
    pub mean: f64,
}

/// Sample quality of a model: FD_cls, KID_cls and precision/recall in the features of a classifier
/// trained on the dataset, SWD of 7x7 patches (x1000), and the validation loss on the real images.
#[derive(Clone, Copy, Debug)]
pub struct EvalResult {
    pub num_images: i64,
    pub fd_cls: f64,
    pub kid_cls: f64,
    pub precision: f64,
    pub recall: f64,
    pub swd: f64,
    pub validation_loss: f64,
}

/// How alike two models' images are from the same seeds and noise.
#[derive(Clone, Copy, Debug)]
pub struct Consistency {
    /// mean((a - b)^2) / var(a and b): 0 = identical, about 2 for independent sets.
    pub relative_msd: f64,
    /// Mean cosine similarity of the image pairs.
    pub cosine: f64,
}

impl Model {
    /// Validation loss on held-out images with noise fixed by `seed` (the same seed compares models).
    pub fn validation_loss(&self, images: &Images<'_>, seed: u64) -> Result<ValidationLoss> {
        let view = images.raw()?;
        let n = ffi::DIFFUSE_VALIDATION_SIGMAS as usize;
        let mut out = ValidationLoss { sigmas: vec![0.0; n], losses: vec![0.0; n], mean: 0.0 };
        // SAFETY: a live handle; the images stay borrowed for the call; both arrays hold n values.
        check(unsafe {
            ffi::diffuse_validation_loss(self.raw.as_ptr(), &view, seed, out.sigmas.as_mut_ptr(), out.losses.as_mut_ptr(),
                                         &mut out.mean)
        })?;
        Ok(out)
    }

    /// Samples EvalConfig.num_images images and measures them against the real images of a
    /// text-format EvalConfig.
    pub fn evaluate(&self, config: &str) -> Result<EvalResult> {
        self.evaluate_with(config.as_bytes(), Format::Text)
    }

    /// `evaluate` for an EvalConfig in any format.
    pub fn evaluate_with(&self, config: &[u8], format: Format) -> Result<EvalResult> {
        // SAFETY: all-zero is a valid diffuse_eval_result; `size` tells the library how much to fill.
        let mut r: ffi::diffuse_eval_result = unsafe { std::mem::zeroed() };
        r.size = std::mem::size_of::<ffi::diffuse_eval_result>();
        let data = if config.is_empty() { ptr::null() } else { config.as_ptr().cast() };
        // SAFETY: a live handle, config bytes valid for their length, an out pointer.
        check(unsafe { ffi::diffuse_evaluate(self.raw.as_ptr(), data, config.len(), format.raw(), &mut r) })?;
        Ok(EvalResult {
            num_images: r.num_images,
            fd_cls: r.fd_cls,
            kid_cls: r.kid_cls,
            precision: r.precision,
            recall: r.recall,
            swd: r.swd,
            validation_loss: r.validation_loss,
        })
    }
}

impl Sampler<'_> {
    /// Compares `other`'s images with this sampler's model's from the same seeds (this sampler's
    /// config; it must have no guide).
    pub fn consistency(&self, other: &Model, seeds: &[u64], labels: Option<&[i64]>) -> Result<Consistency> {
        let labels = check_labels(seeds, labels)?;
        let mut out = Consistency { relative_msd: 0.0, cosine: 0.0 };
        // SAFETY: live handles; every pointer is valid for the length passed with it.
        check(unsafe {
            ffi::diffuse_consistency(self.raw.as_ptr(), other.raw.as_ptr(), seeds.as_ptr(), labels, seeds.len(),
                                     &mut out.relative_msd, &mut out.cosine)
        })?;
        Ok(out)
    }
}
