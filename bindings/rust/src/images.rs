use crate::error::{Error, Result};
use crate::ffi;

/// Images handed in by the host, borrowed: `pixels.len() / (height * width * channels)` images, each
/// row-major HWC (channels innermost, as PNG decoders produce), and optionally one class label per
/// image. The library reads them in place and copies what it needs before the call returns.
#[derive(Clone, Copy, Debug)]
pub struct Images<'a> {
    pub pixels: &'a [u8],
    pub labels: Option<&'a [i64]>,
    pub height: i32,
    pub width: i32,
    pub channels: i32,
}

impl<'a> Images<'a> {
    /// Unlabeled images of `height` x `width` x `channels` (1 grey, 3 RGB, 4 RGBA).
    pub fn new(pixels: &'a [u8], height: i32, width: i32, channels: i32) -> Images<'a> {
        Images { pixels, labels: None, height, width, channels }
    }

    /// The same images with one class label each.
    pub fn with_labels(self, labels: &'a [i64]) -> Images<'a> {
        Images { labels: Some(labels), ..self }
    }

    /// Number of whole images the pixels hold.
    pub fn count(&self) -> usize {
        let per_image = self.height.max(0) as usize * self.width.max(0) as usize * self.channels.max(0) as usize;
        if per_image == 0 {
            0
        } else {
            self.pixels.len() / per_image
        }
    }

    /// The C view, or InvalidArgument naming what does not fit together.
    pub(crate) fn raw(&self) -> Result<ffi::diffuse_images> {
        let count = self.count();
        let per_image = self.height.max(0) as usize * self.width.max(0) as usize * self.channels.max(0) as usize;
        if count == 0 || count * per_image != self.pixels.len() {
            return Err(Error::invalid_argument(format!(
                "{} pixel values are not a whole number of {}x{}x{} images",
                self.pixels.len(),
                self.height,
                self.width,
                self.channels
            )));
        }
        if let Some(labels) = self.labels {
            if labels.len() != count {
                return Err(Error::invalid_argument(format!(
                    "{} labels for {} images: give one label per image or none",
                    labels.len(),
                    count
                )));
            }
        }
        Ok(ffi::diffuse_images {
            size: std::mem::size_of::<ffi::diffuse_images>(),
            pixels: self.pixels.as_ptr(),
            labels: self.labels.map_or(std::ptr::null(), |l| l.as_ptr()),
            count,
            height: self.height,
            width: self.width,
            channels: self.channels,
        })
    }
}
