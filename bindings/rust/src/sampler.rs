use std::os::raw::c_int;
use std::path::Path;
use std::ptr;

use crate::error::{c_path, check, Error, Result};
use crate::ffi;
use crate::library::Format;
use crate::model::Model;

/// The EDM sampler: a SamplerConfig (empty: 32 Heun steps, sigma 0.002..80, rho 7) and an optional
/// guide network, D = D_guide + w (D_model - D_guide). Image i depends only on seeds[i] and
/// labels[i]. Holds no native memory.
#[derive(Clone, Debug)]
pub struct Sampler<'a> {
    config: Vec<u8>,
    format: Format,
    guide: Option<&'a Model>,
}

impl<'a> Sampler<'a> {
    /// A text-format SamplerConfig, e.g. "num_steps: 16" ("" = the defaults).
    pub fn new(config: &str) -> Sampler<'a> {
        Sampler::from_bytes(config.as_bytes(), Format::Text)
    }

    pub fn from_bytes(config: &[u8], format: Format) -> Sampler<'a> {
        Sampler { config: config.to_vec(), format, guide: None }
    }

    /// The same sampler guided by `guide`.
    pub fn with_guide(mut self, guide: &'a Model) -> Sampler<'a> {
        self.guide = Some(guide);
        self
    }

    /// One image per seed; `labels` None (unconditional) or one class per seed (-1: none). Returns
    /// count x channels x resolution x resolution bytes, each image in C, H, W order.
    pub fn sample(&self, model: &Model, seeds: &[u64], labels: Option<&[i64]>) -> Result<Vec<u8>> {
        let labels = check_labels(seeds, labels)?;
        let shape = model.shape()?;
        let mut images = vec![0u8; seeds.len() * (shape.channels * shape.resolution * shape.resolution) as usize];
        // SAFETY: live handles; every pointer is valid for the length passed with it.
        check(unsafe {
            ffi::diffuse_sample(model.raw.as_ptr(), self.guide_ptr(), self.config_ptr(), self.config.len(),
                                self.format.raw(), seeds.as_ptr(), labels, seeds.len(), images.as_mut_ptr(),
                                images.len())
        })?;
        Ok(images)
    }

    /// `sample`, then one PNG grid of `columns` columns (0: square) at `path`.
    pub fn sample_grid(&self, model: &Model, seeds: &[u64], labels: Option<&[i64]>, columns: i32,
                       path: impl AsRef<Path>) -> Result<()> {
        let labels = check_labels(seeds, labels)?;
        let path = c_path("path", path.as_ref())?;
        // SAFETY: live handles; every pointer is valid for the length passed with it.
        check(unsafe {
            ffi::diffuse_sample_png_grid(model.raw.as_ptr(), self.guide_ptr(), self.config_ptr(), self.config.len(),
                                         self.format.raw(), seeds.as_ptr(), labels, seeds.len(), columns as c_int,
                                         path.as_ptr())
        })
    }

    fn guide_ptr(&self) -> *mut ffi::diffuse_model {
        self.guide.map_or(ptr::null_mut(), |g| g.raw.as_ptr())
    }

    fn config_ptr(&self) -> *const std::os::raw::c_void {
        if self.config.is_empty() {
            ptr::null()
        } else {
            self.config.as_ptr().cast()
        }
    }
}

fn check_labels(seeds: &[u64], labels: Option<&[i64]>) -> Result<*const i64> {
    match labels {
        None => Ok(ptr::null()),
        Some(l) if l.len() == seeds.len() => Ok(l.as_ptr()),
        Some(l) => Err(Error::invalid_argument(format!(
            "{} labels for {} seeds: give one label per seed or none",
            l.len(),
            seeds.len()
        ))),
    }
}
