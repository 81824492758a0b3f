use std::ffi::CStr;
use std::os::raw::c_int;

use crate::error::{c_string, check, Result};
use crate::ffi;

/// Wire format of a config message (schemas/diffuse/v1/diffuse.proto).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Protocol Buffers binary encoding.
    Binary,
    /// Protocol Buffers text format.
    Text,
    /// The proto3 JSON mapping.
    Json,
}

impl Format {
    pub(crate) fn raw(self) -> ffi::diffuse_format {
        match self {
            Format::Binary => ffi::DIFFUSE_FORMAT_BINARY,
            Format::Text => ffi::DIFFUSE_FORMAT_TEXT,
            Format::Json => ffi::DIFFUSE_FORMAT_JSON,
        }
    }
}

/// Threshold of the library's log messages on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Off,
}

/// Library version, "MAJOR.MINOR.PATCH".
pub fn version() -> String {
    // SAFETY: a static string.
    unsafe { CStr::from_ptr(ffi::diffuse_version()) }.to_string_lossy().into_owned()
}

/// ABI version of the loaded library (the SONAME suffix).
pub fn abi_version() -> i32 {
    // SAFETY: no arguments.
    unsafe { ffi::diffuse_abi_version() }
}

/// Sets the process-wide log threshold.
pub fn set_log_level(level: LogLevel) -> Result<()> {
    let raw = match level {
        LogLevel::Trace => ffi::DIFFUSE_LOG_TRACE,
        LogLevel::Debug => ffi::DIFFUSE_LOG_DEBUG,
        LogLevel::Info => ffi::DIFFUSE_LOG_INFO,
        LogLevel::Warn => ffi::DIFFUSE_LOG_WARN,
        LogLevel::Error => ffi::DIFFUSE_LOG_ERROR,
        LogLevel::Off => ffi::DIFFUSE_LOG_OFF,
    };
    // SAFETY: plain value.
    check(unsafe { ffi::diffuse_log_set_level(raw) })
}

/// Number of CPU threads for tensor math, process-wide.
pub fn set_num_threads(n: i32) -> Result<()> {
    // SAFETY: plain value.
    check(unsafe { ffi::diffuse_set_num_threads(n) })
}

/// Whether "cpu", "cuda" or "cuda:N" can be used here.
pub fn device_available(device: &str) -> Result<bool> {
    let device = c_string("device", device)?;
    let mut available: c_int = 0;
    // SAFETY: valid C string and out pointer.
    check(unsafe { ffi::diffuse_device_available(device.as_ptr(), &mut available) })?;
    Ok(available != 0)
}

/// Parses, completes with every default and validates a TrainConfig; returns it in `out`.
pub fn resolve_train_config(config: &[u8], format: Format, out: Format) -> Result<Vec<u8>> {
    let mut buffer = ffi::diffuse_buffer { data: std::ptr::null_mut(), len: 0 };
    // SAFETY: `config` is valid for its length; the buffer is filled by the library.
    check(unsafe {
        ffi::diffuse_train_config_resolve(config.as_ptr().cast(), config.len(), format.raw(), out.raw(), &mut buffer)
    })?;
    Ok(take_buffer(&mut buffer))
}

/// Copies a library-owned buffer and frees it.
pub(crate) fn take_buffer(buffer: &mut ffi::diffuse_buffer) -> Vec<u8> {
    let bytes = if buffer.data.is_null() {
        Vec::new()
    } else {
        // SAFETY: the library allocated `len` bytes at `data`.
        unsafe { std::slice::from_raw_parts(buffer.data as *const u8, buffer.len) }.to_vec()
    };
    // SAFETY: a buffer of the library, freed once.
    unsafe { ffi::diffuse_buffer_free(buffer) };
    bytes
}
