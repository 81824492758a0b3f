/*
 * diffuse.h — the C interface of libdiffuse, a library that trains and samples diffusion models
 * (EDM2: magnitude-preserving U-Net, uncertainty-weighted loss, power-function EMA, EDM sampler).
 *
 * This header is the whole public contract. It is plain C99 and usable from any FFI.
 *
 * Conventions
 *   - Every symbol starts with diffuse_ / DIFFUSE_.
 *   - Functions that can fail return a diffuse_status; DIFFUSE_OK (0) means success. The message of
 *     the most recent failure on the calling thread is available from diffuse_last_error().
 *   - No C++ exception ever leaves a function of this header.
 *   - Strings returned as `const char*` are owned by the library and stay valid as documented.
 *
 * Versioning
 *   DIFFUSE_VERSION_* describe the header a program was compiled against; diffuse_version_number()
 *   describes the library it runs with. Within one ABI version (DIFFUSE_ABI_VERSION, also the
 *   SONAME suffix: libdiffuse.so.0) the meaning of every stable entry point is fixed.
 */
#ifndef DIFFUSE_H
#define DIFFUSE_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SWIG)
#define DIFFUSE_API
#elif defined(_WIN32)
#ifdef DIFFUSE_BUILDING_LIBRARY
#define DIFFUSE_API __declspec(dllexport)
#else
#define DIFFUSE_API __declspec(dllimport)
#endif
#else
#define DIFFUSE_API __attribute__((visibility("default")))
#endif

#define DIFFUSE_VERSION_MAJOR 0
#define DIFFUSE_VERSION_MINOR 1
#define DIFFUSE_VERSION_PATCH 0
/* MAJOR*10000 + MINOR*100 + PATCH, comparable with diffuse_version_number(). */
#define DIFFUSE_VERSION_NUMBER (DIFFUSE_VERSION_MAJOR * 10000 + DIFFUSE_VERSION_MINOR * 100 + DIFFUSE_VERSION_PATCH)
#define DIFFUSE_ABI_VERSION 0

/* Result of every fallible call. Values are stable within an ABI version. */
typedef enum diffuse_status {
  DIFFUSE_OK = 0,
  DIFFUSE_E_INVALID_ARGUMENT = 1, /* a NULL pointer, bad size, shape or value was passed */
  DIFFUSE_E_INVALID_CONFIG = 2,   /* a config could not be parsed, or a field is out of range */
  DIFFUSE_E_IO = 3,               /* a file could not be opened, read, written or renamed */
  DIFFUSE_E_CORRUPT_FILE = 4,     /* a file is malformed or truncated */
  DIFFUSE_E_OUT_OF_MEMORY = 5,
  DIFFUSE_E_DEVICE_UNAVAILABLE = 6, /* e.g. "cuda:0" requested but not present */
  DIFFUSE_E_CANCELLED = 7,
  DIFFUSE_E_BUSY = 8,      /* another call is in progress on the same handle */
  DIFFUSE_E_NOT_FOUND = 9, /* a named tensor, file or entry does not exist */
  DIFFUSE_E_INTERNAL = 10, /* a bug: please report it with the diffuse_last_error() message */
  DIFFUSE_E_DIVERGED = 11  /* training produced non-finite losses for too many consecutive steps */
} diffuse_status;

typedef enum diffuse_log_level {
  DIFFUSE_LOG_TRACE = 0,
  DIFFUSE_LOG_DEBUG = 1,
  DIFFUSE_LOG_INFO = 2,
  DIFFUSE_LOG_WARN = 3,
  DIFFUSE_LOG_ERROR = 4,
  DIFFUSE_LOG_OFF = 5
} diffuse_log_level;

/* Library version as "MAJOR.MINOR.PATCH". Static string; never NULL; any thread. */
DIFFUSE_API const char *diffuse_version(void);

/* Library version as MAJOR*10000 + MINOR*100 + PATCH. Any thread. */
DIFFUSE_API int diffuse_version_number(void);

/* ABI version of the running library; a host compiled against this header should check
 * diffuse_abi_version() == DIFFUSE_ABI_VERSION. Any thread. */
DIFFUSE_API int diffuse_abi_version(void);

/* Short English name of a status ("invalid config"). Static string; never NULL, also for values
 * outside the enum ("unknown status"). Any thread. */
DIFFUSE_API const char *diffuse_status_string(diffuse_status status);

/* Message of the most recent failed call on the calling thread ("" if none failed yet). The string
 * is owned by the library and valid until the next call into the library on the same thread. */
DIFFUSE_API const char *diffuse_last_error(void);

/* Sets the process-wide log threshold (default DIFFUSE_LOG_INFO, or $DIFFUSE_LOG_LEVEL). Messages go
 * to stderr. Returns DIFFUSE_E_INVALID_ARGUMENT for a value outside diffuse_log_level. Any thread. */
DIFFUSE_API diffuse_status diffuse_log_set_level(diffuse_log_level level);

#ifdef __cplusplus
}
#endif

#endif /* DIFFUSE_H */
