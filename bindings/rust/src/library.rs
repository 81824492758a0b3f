use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};
use std::path::Path;
use std::ptr;
use std::sync::Mutex;

use crate::error::{c_path, c_string, check, Result};
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

/// Library version as MAJOR*10000 + MINOR*100 + PATCH, for comparisons.
pub fn version_number() -> i32 {
    // SAFETY: no arguments.
    unsafe { ffi::diffuse_version_number() }
}

/// ABI version of the loaded library (the SONAME suffix).
pub fn abi_version() -> i32 {
    // SAFETY: no arguments.
    unsafe { ffi::diffuse_abi_version() }
}

impl LogLevel {
    fn raw(self) -> ffi::diffuse_log_level {
        match self {
            LogLevel::Trace => ffi::DIFFUSE_LOG_TRACE,
            LogLevel::Debug => ffi::DIFFUSE_LOG_DEBUG,
            LogLevel::Info => ffi::DIFFUSE_LOG_INFO,
            LogLevel::Warn => ffi::DIFFUSE_LOG_WARN,
            LogLevel::Error => ffi::DIFFUSE_LOG_ERROR,
            LogLevel::Off => ffi::DIFFUSE_LOG_OFF,
        }
    }

    fn from_raw(level: ffi::diffuse_log_level) -> LogLevel {
        [LogLevel::Trace, LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error, LogLevel::Off]
            .into_iter()
            .find(|l| l.raw() == level)
            .unwrap_or(LogLevel::Info)
    }
}

/// Sets the process-wide log threshold.
pub fn set_log_level(level: LogLevel) -> Result<()> {
    // SAFETY: plain value.
    check(unsafe { ffi::diffuse_log_set_level(level.raw()) })
}

/// Also writes every log message to `path` (appending); None stops.
pub fn log_to_file(path: Option<&Path>) -> Result<()> {
    match path {
        Some(p) => {
            let p = c_path("path", p)?;
            // SAFETY: a valid C string.
            check(unsafe { ffi::diffuse_log_to_file(p.as_ptr()) })
        }
        // SAFETY: NULL stops writing to the file.
        None => check(unsafe { ffi::diffuse_log_to_file(ptr::null()) }),
    }
}

/// A log callback: the level and the message without timestamp or level prefix.
pub type LogCallback = Box<dyn Fn(LogLevel, &str) + Send + Sync>;

// The installed callback, owned here: the library holds a pointer to the inner Box.
static LOG_CALLBACK: Mutex<Option<Box<LogCallback>>> = Mutex::new(None);

extern "C" fn log_trampoline(user: *mut c_void, level: ffi::diffuse_log_level, message: *const c_char) {
    // SAFETY: `user` is the Box<LogCallback> installed by set_log_callback, alive until replaced (the
    // library stops calling it before diffuse_log_set_callback returns); `message` is valid now.
    let callback = unsafe { &*(user as *const LogCallback) };
    let text = unsafe { CStr::from_ptr(message) }.to_string_lossy();
    // A panic must not unwind into C.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(LogLevel::from_raw(level), &text)));
}

/// Hands every log message at or above the log level to `callback` (None removes it), replacing the
/// previous one. It runs on whichever library thread logs (training, data loading, the caller's),
/// one message at a time: it must return quickly and must not call the log functions itself. Once
/// this returns, the previous callback is not running and is dropped. A panic in it is swallowed.
pub fn set_log_callback(callback: Option<LogCallback>) -> Result<()> {
    let mut installed = LOG_CALLBACK.lock().unwrap_or_else(|e| e.into_inner());
    let next: Option<Box<LogCallback>> = callback.map(Box::new);
    let status = match &next {
        Some(b) => {
            let user = &**b as *const LogCallback as *mut c_void;
            // SAFETY: the trampoline and a pointer that stays valid while installed.
            unsafe { ffi::diffuse_log_set_callback(Some(log_trampoline), user) }
        }
        // SAFETY: NULL removes the callback.
        None => unsafe { ffi::diffuse_log_set_callback(None, ptr::null_mut()) },
    };
    check(status)?;
    *installed = next; // the previous callback is no longer running: drop it
    Ok(())
}

/// Joins the data-parallel launch this process is a rank of (torchrun, Slurm, `diffuse --nproc`) for
/// sampling and evaluation; returns (rank, world size), (0, 1) outside one (diffuse_world_join).
pub fn world_join() -> Result<(i32, i32)> {
    let (mut rank, mut size): (c_int, c_int) = (0, 1);
    // SAFETY: two out pointers.
    check(unsafe { ffi::diffuse_world_join(&mut rank, &mut size) })?;
    Ok((rank, size))
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
