package diffuse

import (
	"runtime"

	"diffuse/internal/native"
)

// Format is the wire format of a config message (schemas/diffuse/v1/diffuse.proto).
type Format int

var (
	FormatBinary = Format(native.DIFFUSE_FORMAT_BINARY) // protobuf binary encoding
	FormatText   = Format(native.DIFFUSE_FORMAT_TEXT)   // protobuf text format
	FormatJSON   = Format(native.DIFFUSE_FORMAT_JSON)   // proto3 JSON mapping
)

// LogLevel is the threshold of the library's log messages on stderr.
type LogLevel int

var (
	LogTrace = LogLevel(native.DIFFUSE_LOG_TRACE)
	LogDebug = LogLevel(native.DIFFUSE_LOG_DEBUG)
	LogInfo  = LogLevel(native.DIFFUSE_LOG_INFO)
	LogWarn  = LogLevel(native.DIFFUSE_LOG_WARN)
	LogError = LogLevel(native.DIFFUSE_LOG_ERROR)
	LogOff   = LogLevel(native.DIFFUSE_LOG_OFF)
)

// Version is the library version, "MAJOR.MINOR.PATCH".
func Version() string { return native.Diffuse_version() }

// VersionNumber is the library version as MAJOR*10000 + MINOR*100 + PATCH, for comparisons.
func VersionNumber() int { return native.Diffuse_version_number() }

// WorldJoin joins the data-parallel launch this process is a rank of (torchrun, Slurm, diffuse
// --nproc) for sampling and evaluation; outside one it returns rank 0 of 1 (diffuse_world_join).
func WorldJoin() (rank, worldSize int, err error) {
	err = call(func(s native.Status) {
		p := native.World_join(s)
		defer native.DeleteWorldPosition(p)
		rank, worldSize = p.GetRank(), p.GetWorld_size()
	})
	return rank, worldSize, err
}

// ABIVersion is the ABI version of the loaded library (the SONAME suffix).
func ABIVersion() int { return native.Diffuse_abi_version() }

// SetLogLevel sets the process-wide log threshold.
func SetLogLevel(level LogLevel) error {
	return rawCall(func() native.Diffuse_status { return native.Diffuse_log_set_level(native.Diffuse_log_level(level)) })
}

// SetNumThreads sets the number of CPU threads for tensor math, process-wide.
func SetNumThreads(n int) error {
	return rawCall(func() native.Diffuse_status { return native.Diffuse_set_num_threads(n) })
}

// DeviceAvailable tells whether "cpu", "cuda" or "cuda:N" can be used here.
func DeviceAvailable(device string) (bool, error) {
	var available bool
	err := call(func(s native.Status) { available = native.Device_available(device, s) })
	return available, err
}

// ResolveTrainConfig parses, completes with every default and validates a TrainConfig.
func ResolveTrainConfig(config []byte, format, out Format) ([]byte, error) {
	var resolved []byte
	err := call(func(s native.Status) { resolved = native.Resolve_train_config(config, int(format), int(out), s) })
	return resolved, err
}

// rawCall runs a function of diffuse.h that returns a status, and reads diffuse_last_error() on the
// same OS thread.
func rawCall(f func() native.Diffuse_status) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	status := f()
	if status == native.DIFFUSE_OK {
		return nil
	}
	return &Error{Status: int(status), Name: native.Diffuse_status_string(status), Message: native.Diffuse_last_error()}
}
