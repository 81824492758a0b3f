use std::os::raw::c_int;
use std::path::Path;
use std::ptr::{self, NonNull};

use crate::error::{c_path, c_string, check, Result};
use crate::ffi;
use crate::library::{take_buffer, Format};

/// A network ready for sampling: a run's checkpoint, an EMA snapshot, a post-hoc EMA output or any
/// safetensors file with EDM2 names. Freed on drop.
pub struct Model {
    pub(crate) raw: NonNull<ffi::diffuse_model>,
}

// SAFETY: the C API allows sampling from several threads at once; `save` and drop take `&mut self`.
unsafe impl Send for Model {}
unsafe impl Sync for Model {}

/// Image geometry of a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub channels: i32,
    pub resolution: i32,
    /// Number of classes; 0 = unconditional.
    pub label_dim: i32,
}

impl Model {
    /// Opens a model file on the CPU with the config stored in it.
    pub fn open(path: impl AsRef<Path>) -> Result<Model> {
        Model::open_with(path, "cpu", None, Format::Binary)
    }

    /// Opens a model file on `device` ("cpu", "cuda", "cuda:N") with an explicit ModelConfig
    /// (None: the file's own).
    pub fn open_with(path: impl AsRef<Path>, device: &str, config: Option<&[u8]>, format: Format) -> Result<Model> {
        let path = c_path("path", path.as_ref())?;
        let device = c_string("device", device)?;
        let (data, len) = config.map_or((ptr::null(), 0), |c| (c.as_ptr().cast(), c.len()));
        let mut raw = ptr::null_mut();
        // SAFETY: valid C strings and config bytes; `raw` receives the handle.
        check(unsafe { ffi::diffuse_model_open(&mut raw, path.as_ptr(), device.as_ptr(), data, len, format.raw()) })?;
        Ok(Model { raw: NonNull::new(raw).expect("diffuse_model_open returned OK and NULL") })
    }

    /// Writes the network and its config to `path` (fp16 or fp32), atomically.
    pub fn save(&mut self, path: impl AsRef<Path>, fp16: bool) -> Result<()> {
        let path = c_path("path", path.as_ref())?;
        // SAFETY: a live handle used exclusively, a valid C string.
        check(unsafe { ffi::diffuse_model_save(self.raw.as_ptr(), path.as_ptr(), fp16 as c_int) })
    }

    /// The resolved ModelConfig in `format`.
    pub fn config(&self, format: Format) -> Result<Vec<u8>> {
        let mut buffer = ffi::diffuse_buffer { data: ptr::null_mut(), len: 0 };
        // SAFETY: a live handle; the buffer is filled by the library.
        check(unsafe { ffi::diffuse_model_info(self.raw.as_ptr(), format.raw(), &mut buffer, ptr::null_mut()) })?;
        Ok(take_buffer(&mut buffer))
    }

    /// Number of network parameters.
    pub fn num_parameters(&self) -> Result<i64> {
        let mut n = 0;
        // SAFETY: a live handle and an out pointer.
        check(unsafe { ffi::diffuse_model_info(self.raw.as_ptr(), ffi::DIFFUSE_FORMAT_BINARY, ptr::null_mut(), &mut n) })?;
        Ok(n)
    }

    /// Image geometry.
    pub fn shape(&self) -> Result<Shape> {
        let (mut channels, mut resolution, mut label_dim) = (0, 0, 0);
        // SAFETY: a live handle and out pointers.
        check(unsafe { ffi::diffuse_model_shape(self.raw.as_ptr(), &mut channels, &mut resolution, &mut label_dim) })?;
        Ok(Shape { channels, resolution, label_dim })
    }
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Model({:p})", self.raw.as_ptr())
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: the handle is owned and freed once.
        unsafe { ffi::diffuse_model_free(self.raw.as_ptr()) }
    }
}
