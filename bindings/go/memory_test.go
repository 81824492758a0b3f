package diffuse

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// residentKB is VmRSS of this process after a garbage collection.
func residentKB(t *testing.T) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, err := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// Creating and closing 1,000 trainers and 1,000 models keeps the resident memory bounded. The tiny
// network has ~0.4 MB of parameters, and a trainer also holds Adam moments and two EMAs, so a leak
// of the native objects would add several hundred MB; 32 MB leaves room for allocator noise.
func TestThousandTrainersAndModelsDoNotGrowResidentMemory(t *testing.T) {
	const boundKB = 32 * 1024
	dir := t.TempDir()
	first, err := syntheticConfig(dir, filepath.Join(dir, "first"))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(first)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.SaveCheckpoint(); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	modelFile := filepath.Join(dir, "first", "checkpoint-0000000.safetensors")
	cycle := func(i int) {
		runDir := filepath.Join(dir, fmt.Sprint("run", i))
		config, err := syntheticConfig(dir, runDir)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := NewTrainer(config)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Status(); err != nil {
			t.Fatal(err)
		}
		tr.Close()
		m, err := OpenModel(modelFile)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.NumParameters(); err != nil {
			t.Fatal(err)
		}
		m.Close()
		os.RemoveAll(runDir)
	}
	for i := 0; i < 100; i++ {
		cycle(i)
	}
	before := residentKB(t)
	for i := 100; i < 1100; i++ {
		cycle(i)
	}
	after := residentKB(t)
	fmt.Printf("Go RSS: %d kB after 100 cycles, %d kB after 1,100 (growth %d kB, bound %d kB)\n",
		before, after, after-before, boundKB)
	if after-before >= boundKB {
		t.Errorf("resident memory grew by %d kB", after-before)
	}
}
