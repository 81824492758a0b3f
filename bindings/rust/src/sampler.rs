use std::os::raw::c_int;
use std::path::Path;
use std::ptr::{self, NonNull};

use crate::error::{c_path, check, Error, Result};
use crate::ffi;
use crate::library::Format;
use crate::model::Model;

/// The EDM sampler of one model: a SamplerConfig (empty: 32 Heun steps, sigma 0.002..80, rho 7)
/// parsed and checked once, and an optional guide network, D = D_guide + w (D_model - D_guide).
/// Image i depends only on seeds[i] and labels[i]. It borrows its models, so they outlive it; freed
/// on drop. Any number of threads may sample with one Sampler.
pub struct Sampler<'a> {
    raw: NonNull<ffi::diffuse_sampler>,
    model: &'a Model,
    guide: Option<&'a Model>,
}

// SAFETY: a sampler never changes after creation; the C API allows running it from several threads.
unsafe impl Send for Sampler<'_> {}
unsafe impl Sync for Sampler<'_> {}

impl<'a> Sampler<'a> {
    /// Samples `model` with a text-format SamplerConfig, e.g. "num_steps: 16" ("" = the defaults).
    pub fn new(model: &'a Model, config: &str) -> Result<Sampler<'a>> {
        Sampler::with_config(model, None, config.as_bytes(), Format::Text)
    }

    /// Samples `model` with a SamplerConfig in any format, guided by `guide`.
    pub fn with_config(model: &'a Model, guide: Option<&'a Model>, config: &[u8], format: Format) -> Result<Sampler<'a>> {
        let data = if config.is_empty() { ptr::null() } else { config.as_ptr().cast() };
        let mut raw = ptr::null_mut();
        let guide_ptr = guide.map_or(ptr::null_mut(), |g| g.raw.as_ptr());
        // SAFETY: live model handles; the config bytes are valid for their length.
        check(unsafe {
            ffi::diffuse_sampler_create(&mut raw, model.raw.as_ptr(), guide_ptr, data, config.len(), format.raw())
        })?;
        Ok(Sampler { raw: NonNull::new(raw).expect("diffuse_sampler_create returned OK and NULL"), model, guide })
    }

    /// The same config (text format) guided by `guide`.
    pub fn guided(model: &'a Model, guide: &'a Model, config: &str) -> Result<Sampler<'a>> {
        Sampler::with_config(model, Some(guide), config.as_bytes(), Format::Text)
    }

    /// One image per seed; `labels` None (unconditional) or one class per seed (-1: none). Returns
    /// count x channels x resolution x resolution bytes, each image in C, H, W order.
    pub fn sample(&self, seeds: &[u64], labels: Option<&[i64]>) -> Result<Vec<u8>> {
        let mut images = vec![0u8; seeds.len() * self.values_per_image()?];
        self.run(seeds, labels, ffi::DIFFUSE_PIXELS_UINT8, images.as_mut_ptr().cast(), images.len())?;
        Ok(images)
    }

    /// `sample` before quantisation: values about [-1, 1].
    pub fn sample_float(&self, seeds: &[u64], labels: Option<&[i64]>) -> Result<Vec<f32>> {
        let mut images = vec![0f32; seeds.len() * self.values_per_image()?];
        let bytes = images.len() * std::mem::size_of::<f32>();
        self.run(seeds, labels, ffi::DIFFUSE_PIXELS_FLOAT32, images.as_mut_ptr().cast(), bytes)?;
        Ok(images)
    }

    /// `sample`, then one PNG grid of `columns` columns (0: square) at `path`.
    pub fn sample_grid(&self, seeds: &[u64], labels: Option<&[i64]>, columns: i32, path: impl AsRef<Path>) -> Result<()> {
        let labels = check_labels(seeds, labels)?;
        let path = c_path("path", path.as_ref())?;
        // SAFETY: a live handle; every pointer is valid for the length passed with it.
        check(unsafe {
            ffi::diffuse_sampler_write_png_grid(self.raw.as_ptr(), seeds.as_ptr(), labels, seeds.len(), columns as c_int,
                                                path.as_ptr())
        })
    }

    /// The model this sampler samples from, and its guide.
    pub fn model(&self) -> &'a Model {
        self.model
    }

    pub fn guide(&self) -> Option<&'a Model> {
        self.guide
    }

    fn values_per_image(&self) -> Result<usize> {
        let shape = self.model.shape()?;
        Ok((shape.channels * shape.resolution * shape.resolution) as usize)
    }

    fn run(&self, seeds: &[u64], labels: Option<&[i64]>, kind: ffi::diffuse_pixel_type, images: *mut std::os::raw::c_void,
           capacity: usize) -> Result<()> {
        let labels = check_labels(seeds, labels)?;
        let mut none = 0u8; // an empty Vec's pointer is dangling but never NULL; keep it valid anyway
        let images = if capacity == 0 { (&mut none as *mut u8).cast() } else { images };
        // SAFETY: a live handle; every pointer is valid for the length passed with it.
        check(unsafe {
            ffi::diffuse_sampler_run(self.raw.as_ptr(), seeds.as_ptr(), labels, seeds.len(), kind, images, capacity)
        })
    }
}

impl Drop for Sampler<'_> {
    fn drop(&mut self) {
        // SAFETY: the handle is live and used by nobody else once dropped.
        unsafe { ffi::diffuse_sampler_free(self.raw.as_ptr()) }
    }
}

pub(crate) fn check_labels(seeds: &[u64], labels: Option<&[i64]>) -> Result<*const i64> {
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
