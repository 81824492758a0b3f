package diffuse

import (
	"errors"
	"fmt"

	"diffuse/internal/native"
)

// Status codes of capi/diffuse.h carried by *Error.
var (
	StatusInvalidArgument = int(native.DIFFUSE_E_INVALID_ARGUMENT)
	StatusInvalidConfig   = int(native.DIFFUSE_E_INVALID_CONFIG)
	StatusIO              = int(native.DIFFUSE_E_IO)
	StatusCorruptFile     = int(native.DIFFUSE_E_CORRUPT_FILE)
	StatusNotFound        = int(native.DIFFUSE_E_NOT_FOUND)
	StatusBusy            = int(native.DIFFUSE_E_BUSY)
)

// Error is a failed call into libdiffuse.
type Error struct {
	Status  int    // the diffuse_status code
	Name    string // its short name, e.g. "invalid config"
	Message string // diffuse_last_error() of the call
}

func (e *Error) Error() string { return fmt.Sprintf("diffuse: %s: %s", e.Name, e.Message) }

// ErrClosed is returned by methods of a Trainer or Model after Close.
var ErrClosed = errors.New("diffuse: use of a closed object")

// call runs one facade call with a fresh Status; the facade captured the message on the thread of
// the call, so goroutines moving between threads cannot mix messages up.
func call(f func(status native.Status)) error {
	status := native.NewStatus()
	defer native.DeleteStatus(status)
	f(status)
	if status.Ok() {
		return nil
	}
	return &Error{Status: status.Code(), Name: status.Name(), Message: status.Message()}
}
