package diffuse

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// hostImages returns 64 grey 16x16 images with a pattern per class, and their labels.
func hostImages() *Images {
	const count, side = 64, 16
	im := &Images{Pixels: make([]byte, count*side*side), Labels: make([]int64, count), Height: side, Width: side, Channels: 1}
	for i := 0; i < count; i++ {
		im.Labels[i] = int64(i % 10)
		for p := 0; p < side*side; p++ {
			im.Pixels[i*side*side+p] = byte((i*37 + p*(1+i%10)) % 256)
		}
	}
	return im
}

func memoryConfig(runDir string) string {
	return `model { img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2]` +
		` num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16 }` +
		` data { train { format: MEMORY } } optimizer { rampup_images: 64 }` +
		` run { output_dir: "` + runDir + `" batch_size: 16 duration_images: 160 status_images: 32` +
		` checkpoint_images: 0 validation_images: 16 threads: 1 }`
}

func TestVersionNumberAndWorld(t *testing.T) {
	parts := strings.Split(Version(), ".")
	major, _ := strconv.Atoi(parts[0])
	minor, _ := strconv.Atoi(parts[1])
	patch, _ := strconv.Atoi(parts[2])
	if got := VersionNumber(); got != major*10000+minor*100+patch {
		t.Errorf("VersionNumber %d for %s", got, Version())
	}
	rank, size, err := WorldJoin()
	if err != nil || rank != 0 || size != 1 {
		t.Errorf("WorldJoin: %d/%d %v", rank, size, err)
	}
}

// TestHostImagesLoggingAndMetrics trains from host images with a log callback and a log file, resumes,
// and measures the checkpoint: validation loss, sampling into caller memory, consistency, evaluation.
func TestHostImagesLoggingAndMetrics(t *testing.T) {
	dir := t.TempDir()
	runDir := filepath.Join(dir, "memory-run")
	images := hostImages()
	var mu sync.Mutex
	var messages []string
	logFile := filepath.Join(dir, "log.txt")
	_ = SetLogLevel(LogInfo)
	if err := SetLogCallback(func(level LogLevel, text string) {
		mu.Lock()
		messages = append(messages, level.String()+" "+text)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if err := LogToFile(logFile); err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainerWithImages(memoryConfig(runDir), images, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := tr.Run(2); n != 2 || err != nil {
		t.Fatalf("Run: %d %v", n, err)
	}
	text, err := tr.StatusMessage(FormatText)
	if err != nil || !bytes.Contains(text, []byte("steps: 2")) {
		t.Errorf("StatusMessage: %q %v", text, err)
	}
	if err := tr.SaveCheckpoint(); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	_ = SetLogCallback(nil)
	_ = LogToFile("")
	_ = SetLogLevel(LogWarn)
	mu.Lock()
	seen := false
	for _, m := range messages {
		seen = seen || (strings.HasPrefix(m, "info ") && strings.Contains(m, runDir))
	}
	before := len(messages)
	mu.Unlock()
	if !seen {
		t.Errorf("log callback: %q", messages)
	}
	if content, _ := os.ReadFile(logFile); !bytes.Contains(content, []byte(runDir)) {
		t.Errorf("log file lacks the run directory")
	}
	if _, err := ResumeTrainer(runDir); err == nil || !strings.Contains(err.Error(), "MEMORY") {
		t.Errorf("resume without images: %v", err)
	}
	mu.Lock()
	if len(messages) != before {
		t.Errorf("callback called after removal")
	}
	mu.Unlock()
	_, err = NewTrainerWithImages(memoryConfig(filepath.Join(dir, "bad")), &Images{Pixels: make([]byte, 100), Height: 16, Width: 16, Channels: 1}, nil)
	if err == nil || !strings.Contains(err.Error(), "100 pixel values") {
		t.Errorf("bad geometry: %v", err)
	}
	resumed, err := ResumeTrainerWithImages(runDir, images, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := resumed.Status(); st.Steps != 2 {
		t.Errorf("resumed at step %d", st.Steps)
	}
	if n, err := resumed.Run(1); n != 1 || err != nil {
		t.Errorf("resumed Run: %d %v", n, err)
	}
	resumed.Close()

	model, err := OpenModel(filepath.Join(runDir, "checkpoint-0000000.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	v, err := model.ValidationLoss(images, 5)
	if err != nil || len(v.Sigmas) != 10 || math.Abs(v.Sigmas[0]-0.002) > 1e-12 || math.Abs(v.Sigmas[9]-80) > 1e-9 {
		t.Fatalf("ValidationLoss: %+v %v", v, err)
	}
	sum := 0.0
	for _, l := range v.Losses {
		sum += l
	}
	if math.Abs(sum/10-v.Mean) > 1e-9*math.Abs(v.Mean) {
		t.Errorf("mean %g of %v", v.Mean, v.Losses)
	}
	if again, _ := model.ValidationLoss(images, 5); again.Mean != v.Mean {
		t.Errorf("validation loss not deterministic")
	}

	sampler, err := NewSampler(model, "num_steps: 4")
	if err != nil {
		t.Fatal(err)
	}
	defer sampler.Close()
	seeds, labels := []uint64{3, 4}, []int64{1, 2}
	want, _ := sampler.Sample(seeds, labels)
	got := make([]byte, 2*256)
	if err := sampler.SampleInto(seeds, labels, got); err != nil || !bytes.Equal(got, want) {
		t.Errorf("SampleInto: %v", err)
	}
	wantFloat, _ := sampler.SampleFloat(seeds, labels)
	gotFloat := make([]float32, 2*256)
	if err := sampler.SampleFloatInto(seeds, labels, gotFloat); err != nil {
		t.Error(err)
	}
	for i := range gotFloat {
		if gotFloat[i] != wantFloat[i] {
			t.Fatalf("SampleFloatInto differs at %d", i)
		}
	}
	if err := sampler.SampleInto(seeds, labels, make([]byte, 10)); err == nil || !strings.Contains(err.Error(), "capacity") {
		t.Errorf("small destination: %v", err)
	}
	c, err := sampler.Consistency(model, seeds, labels)
	if err != nil || c.RelativeMSD != 0 || math.Abs(c.Cosine-1) > 1e-6 {
		t.Errorf("Consistency with itself: %+v %v", c, err)
	}

	data := fashionMnistDir()
	r, err := model.Evaluate(`reference { format: IDX path: "` + data + `/t10k-images-idx3-ubyte.gz" labels_path: "` + data +
		`/t10k-labels-idx1-ubyte.gz" } resize: RESIZE classifier: "` + os.Getenv("DIFFUSE_SOURCE_DIR") +
		`/metrics/fashion-mnist-classifier.safetensors" num_images: 10 k: 2 sampler { num_steps: 2 }`)
	if err != nil || r.NumImages != 10 || !(r.FDCls > 0 && r.SWD > 0 && r.ValidationLoss > 0 && r.Precision >= 0 && r.Recall <= 1) {
		t.Errorf("Evaluate: %+v %v", r, err)
	}
	if _, err := model.Evaluate("num_images: 10"); err == nil || !strings.Contains(err.Error(), "EvalConfig.") {
		t.Errorf("bad EvalConfig: %v", err)
	}
}
