use std::os::raw::c_int;
use std::path::Path;
use std::ptr::{self, NonNull};

use crate::error::{c_path, check, Error, Result};
use crate::ffi;
use crate::library::{take_buffer, Format};
use crate::model::Model;

/// The EDM sampler of one model: a SamplerConfig (empty: 32 Heun steps, sigma 0.002..80, rho 7)
/// parsed and checked once, and an optional guide network, D = D_guide + w (D_model - D_guide).
/// Image i depends only on seeds[i] and labels[i]. It borrows its models, so they outlive it; freed
/// on drop. Any number of threads may sample with one Sampler.
pub struct Sampler<'a> {
    pub(crate) raw: NonNull<ffi::diffuse_sampler>,
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
    /// The images are in a buffer the library allocates (diffuse_sampler_run_to_buffer).
    pub fn sample(&self, seeds: &[u64], labels: Option<&[i64]>) -> Result<Vec<u8>> {
        self.run_to_buffer(seeds, labels, ffi::DIFFUSE_PIXELS_UINT8)
    }

    /// `sample` before quantisation: values about [-1, 1].
    pub fn sample_float(&self, seeds: &[u64], labels: Option<&[i64]>) -> Result<Vec<f32>> {
        let bytes = self.run_to_buffer(seeds, labels, ffi::DIFFUSE_PIXELS_FLOAT32)?;
        Ok(bytes.chunks_exact(4).map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])).collect())
    }

    /// `sample` into the caller's memory (no allocation): `images` must hold count x channels x
    /// resolution x resolution bytes (diffuse_sampler_run).
    pub fn sample_into(&self, seeds: &[u64], labels: Option<&[i64]>, images: &mut [u8]) -> Result<()> {
        self.run(seeds, labels, ffi::DIFFUSE_PIXELS_UINT8, images.as_mut_ptr().cast(), images.len())
    }

    /// `sample_float` into the caller's memory.
    pub fn sample_float_into(&self, seeds: &[u64], labels: Option<&[i64]>, images: &mut [f32]) -> Result<()> {
        let bytes = std::mem::size_of_val(images);
        self.run(seeds, labels, ffi::DIFFUSE_PIXELS_FLOAT32, images.as_mut_ptr().cast(), bytes)
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

    fn run_to_buffer(&self, seeds: &[u64], labels: Option<&[i64]>, kind: ffi::diffuse_pixel_type) -> Result<Vec<u8>> {
        let labels = check_labels(seeds, labels)?;
        if seeds.is_empty() {
            return Ok(Vec::new()); // no images (the C call refuses count 0)
        }
        let mut buffer = ffi::diffuse_buffer { data: ptr::null_mut(), len: 0 };
        // SAFETY: a live handle; every pointer is valid for the length passed with it.
        check(unsafe {
            ffi::diffuse_sampler_run_to_buffer(self.raw.as_ptr(), seeds.as_ptr(), labels, seeds.len(), kind, &mut buffer)
        })?;
        Ok(take_buffer(&mut buffer))
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
