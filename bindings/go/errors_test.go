package diffuse

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// asError checks that err is an *Error with the status and a message containing want.
func asError(t *testing.T, err error, status int, want string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *diffuse.Error with status %d, got %v", status, err)
	}
	if e.Status != status {
		t.Errorf("status %d (%s), want %d: %s", e.Status, e.Name, status, e.Message)
	}
	if !strings.Contains(e.Message, want) {
		t.Errorf("message %q does not contain %q", e.Message, want)
	}
}

func TestVersion(t *testing.T) {
	if ABIVersion() != 0 || !strings.HasPrefix(Version(), "0.") {
		t.Errorf("version %s, ABI %d", Version(), ABIVersion())
	}
}

func TestBadConfigIsInvalidConfigNamingTheField(t *testing.T) {
	tr, err := NewTrainer("run { batch_size: 0 }")
	if tr != nil {
		t.Error("a trainer came back with the error")
	}
	asError(t, err, StatusInvalidConfig, "TrainConfig.")
	if err.Error() == "" || !strings.Contains(err.Error(), "invalid config") {
		t.Errorf("Error() = %q", err.Error())
	}
	_, err = NewTrainer("run { no_such_field: 1 }")
	asError(t, err, StatusInvalidConfig, "no_such_field")
	_, err = NewTrainerFrom([]byte(`{"run": {"batchSize": "x"}}`), FormatJSON)
	asError(t, err, StatusInvalidConfig, "")
}

func TestMissingAndCorruptModelFiles(t *testing.T) {
	_, err := OpenModel("/nonexistent.safetensors")
	asError(t, err, StatusIO, "/nonexistent.safetensors")
	garbage := filepath.Join(t.TempDir(), "garbage.safetensors")
	if err := os.WriteFile(garbage, []byte("not a safetensors file"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = OpenModel(garbage)
	asError(t, err, StatusCorruptFile, "")
	_, err = ResumeTrainer("/nonexistent/run")
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/run") {
		t.Errorf("resume of a missing run: %v", err)
	}
}

func TestProcessWideSettings(t *testing.T) {
	asError(t, SetNumThreads(0), StatusInvalidArgument, "")
	_, err := DeviceAvailable("quantum")
	asError(t, err, StatusInvalidArgument, "quantum")
	if ok, err := DeviceAvailable("cpu"); !ok || err != nil {
		t.Errorf("cpu: %v %v", ok, err)
	}
	asError(t, SetLogLevel(LogLevel(42)), StatusInvalidArgument, "42")
	if err := SetLogLevel(LogWarn); err != nil {
		t.Error(err)
	}
}

func TestResolveTrainConfig(t *testing.T) {
	resolved, err := ResolveTrainConfig([]byte(`{"run": {"outputDir": "/tmp/x", "durationImages": "4096"},
		"data": {"train": {"format": "IDX", "path": "/x"}}}`), FormatJSON, FormatText)
	if err != nil || !strings.Contains(string(resolved), "batch_size: 2048") {
		t.Errorf("%v: %s", err, resolved)
	}
	_, err = ResolveTrainConfig([]byte("run { output_dir: \"/tmp/x\" duration_images: 10 batch_size: 4 batch_per_step: 3 }"),
		FormatText, FormatText)
	asError(t, err, StatusInvalidConfig, "batch_per_step")
}
