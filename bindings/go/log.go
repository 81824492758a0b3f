package diffuse

import (
	"fmt"
	"os"
	"sync"

	"diffuse/internal/native"
)

var logState struct {
	mu    sync.Mutex
	queue native.LogQueue
	done  chan struct{}
}

// SetLogCallback hands every log message at or above the log level to callback (nil removes it),
// replacing the previous one. The callback runs on one goroutine of this package, in the order the
// messages were logged, shortly after (the library thread that logs never waits for it); once
// SetLogCallback returns, the previous callback is not running and is not called again. It must not
// call SetLogCallback itself. A panic in it is printed to stderr.
func SetLogCallback(callback func(level LogLevel, message string)) error {
	logState.mu.Lock()
	defer logState.mu.Unlock()
	if logState.queue != nil {
		logState.queue.Stop()
		<-logState.done
		native.DeleteLogQueue(logState.queue)
		logState.queue = nil
	}
	if callback == nil {
		return nil
	}
	queue := native.NewLogQueue()
	if err := call(func(s native.Status) { queue.Start(s) }); err != nil {
		native.DeleteLogQueue(queue)
		return err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		message := native.NewLogMessage()
		defer native.DeleteLogMessage(message)
		for queue.Next(message) {
			deliver(callback, LogLevel(message.GetLevel()), message.GetText())
		}
	}()
	logState.queue, logState.done = queue, done
	return nil
}

func deliver(callback func(LogLevel, string), level LogLevel, text string) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintln(os.Stderr, "diffuse: the log callback panicked:", r)
		}
	}()
	callback(level, text)
}

// LogToFile also writes every log message to path (appending); "" stops.
func LogToFile(path string) error {
	return call(func(s native.Status) { native.Log_to_file(path, s) })
}

// String names the level as the library's log prefix does ("info").
func (l LogLevel) String() string {
	switch l {
	case LogTrace:
		return "trace"
	case LogDebug:
		return "debug"
	case LogInfo:
		return "info"
	case LogWarn:
		return "warn"
	case LogError:
		return "error"
	case LogOff:
		return "off"
	}
	return fmt.Sprintf("LogLevel(%d)", int(l))
}
