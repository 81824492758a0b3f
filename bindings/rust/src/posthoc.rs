use std::os::raw::c_int;
use std::path::Path;

use crate::error::{c_path, check, Result};
use crate::ffi;

/// Optional settings of [`posthoc_ema_with`].
#[derive(Clone, Copy, Debug)]
pub struct PostHocOptions {
    /// Training time of the snapshots to use; -1 = the latest.
    pub nimg: i64,
    /// Refuse fits worse than this; <= 0 = 0.05.
    pub max_residual: f64,
    /// Write poorly fitted profiles anyway.
    pub force: bool,
    /// Write fp16 instead of fp32.
    pub fp16: bool,
}

impl Default for PostHocOptions {
    fn default() -> Self {
        PostHocOptions { nimg: -1, max_residual: 0.0, force: false, fp16: false }
    }
}

/// Reconstructs the EMA of each sigma_rel at the latest snapshot time from the ema-* snapshots in
/// `run_dir`, writes `out_dir/phema-<sigma_rel>-<kimg>.safetensors` and returns the relative L2
/// residual of each fit.
pub fn posthoc_ema(run_dir: impl AsRef<Path>, sigma_rels: &[f64], out_dir: impl AsRef<Path>) -> Result<Vec<f64>> {
    posthoc_ema_with(run_dir, sigma_rels, out_dir, PostHocOptions::default())
}

/// [`posthoc_ema`] with every option of diffuse_phema_reconstruct.
pub fn posthoc_ema_with(run_dir: impl AsRef<Path>, sigma_rels: &[f64], out_dir: impl AsRef<Path>,
                        options: PostHocOptions) -> Result<Vec<f64>> {
    let run_dir = c_path("run_dir", run_dir.as_ref())?;
    let out_dir = c_path("out_dir", out_dir.as_ref())?;
    let mut residuals = vec![0.0; sigma_rels.len()];
    // SAFETY: valid C strings; both arrays hold sigma_rels.len() values.
    check(unsafe {
        ffi::diffuse_phema_reconstruct(run_dir.as_ptr(), sigma_rels.as_ptr(), sigma_rels.len(), options.nimg,
                                       options.max_residual, options.force as c_int, out_dir.as_ptr(),
                                       options.fp16 as c_int, residuals.as_mut_ptr())
    })?;
    Ok(residuals)
}
