use std::ffi::CStr;
use std::fmt;

use crate::ffi;

/// Status codes of capi/diffuse.h.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    InvalidArgument,
    InvalidConfig,
    Io,
    CorruptFile,
    OutOfMemory,
    DeviceUnavailable,
    Cancelled,
    Busy,
    NotFound,
    Internal,
    Diverged,
    PeerLost,
    /// A code this version of the crate does not know.
    Other(i32),
}

impl Status {
    fn from_code(code: ffi::diffuse_status) -> Status {
        match code {
            ffi::DIFFUSE_E_INVALID_ARGUMENT => Status::InvalidArgument,
            ffi::DIFFUSE_E_INVALID_CONFIG => Status::InvalidConfig,
            ffi::DIFFUSE_E_IO => Status::Io,
            ffi::DIFFUSE_E_CORRUPT_FILE => Status::CorruptFile,
            ffi::DIFFUSE_E_OUT_OF_MEMORY => Status::OutOfMemory,
            ffi::DIFFUSE_E_DEVICE_UNAVAILABLE => Status::DeviceUnavailable,
            ffi::DIFFUSE_E_CANCELLED => Status::Cancelled,
            ffi::DIFFUSE_E_BUSY => Status::Busy,
            ffi::DIFFUSE_E_NOT_FOUND => Status::NotFound,
            ffi::DIFFUSE_E_INTERNAL => Status::Internal,
            ffi::DIFFUSE_E_DIVERGED => Status::Diverged,
            ffi::DIFFUSE_E_PEER_LOST => Status::PeerLost,
            other => Status::Other(other),
        }
    }
}

/// A failed call: the status, its short name ("invalid config") and the library's message.
#[derive(Clone, Debug)]
pub struct Error {
    pub status: Status,
    pub code: i32,
    pub name: String,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The error of a call that returned `code`, with this thread's diffuse_last_error().
    pub(crate) fn last(code: ffi::diffuse_status) -> Error {
        // SAFETY: both return static or thread-local strings that stay valid until the next call.
        let (name, message) = unsafe {
            (
                CStr::from_ptr(ffi::diffuse_status_string(code)).to_string_lossy().into_owned(),
                CStr::from_ptr(ffi::diffuse_last_error()).to_string_lossy().into_owned(),
            )
        };
        Error { status: Status::from_code(code), code, name, message }
    }

    /// An invalid argument found before calling the library (e.g. a string with a NUL byte).
    pub(crate) fn invalid_argument(message: String) -> Error {
        let code = ffi::DIFFUSE_E_INVALID_ARGUMENT;
        // SAFETY: a static string.
        let name = unsafe { CStr::from_ptr(ffi::diffuse_status_string(code)) }.to_string_lossy().into_owned();
        Error { status: Status::InvalidArgument, code, name, message }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "diffuse: {}: {}", self.name, self.message)
    }
}

impl std::error::Error for Error {}

/// Ok for DIFFUSE_OK, else the error with this thread's message (Rust stays on the calling thread).
pub(crate) fn check(code: ffi::diffuse_status) -> Result<()> {
    if code == ffi::DIFFUSE_OK {
        Ok(())
    } else {
        Err(Error::last(code))
    }
}

/// A C string for the library, or InvalidArgument naming what held a NUL byte.
pub(crate) fn c_string(what: &str, value: &str) -> Result<std::ffi::CString> {
    std::ffi::CString::new(value).map_err(|_| Error::invalid_argument(format!("{} contains a NUL byte", what)))
}

/// A filesystem path for the library (UTF-8).
pub(crate) fn c_path(what: &str, path: &std::path::Path) -> Result<std::ffi::CString> {
    match path.to_str() {
        Some(s) => c_string(what, s),
        None => Err(Error::invalid_argument(format!("{} is not UTF-8: {}", what, path.display()))),
    }
}
