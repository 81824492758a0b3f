package diffuse

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

const trainSteps = 8

var (
	trainOnce sync.Once
	trainDir  string
	trainErr  error
	firstRun  TrainStatus
	lastRun   TrainStatus
)

// trainedRun trains the tiny Fashion-MNIST model once for every test that needs a run directory.
func trainedRun(t *testing.T) string {
	t.Helper()
	trainOnce.Do(func() {
		dir, err := os.MkdirTemp("", "diffuse-go-run-")
		if err != nil {
			trainErr = err
			return
		}
		trainDir = filepath.Join(dir, "run")
		tr, err := NewTrainer(fashionMnistConfig(trainDir, trainSteps))
		if err != nil {
			trainErr = err
			return
		}
		defer tr.Close()
		if _, trainErr = tr.Run(3); trainErr != nil {
			return
		}
		if firstRun, trainErr = tr.Status(); trainErr != nil {
			return
		}
		for !lastRun.Done && trainErr == nil {
			if _, trainErr = tr.Run(4); trainErr == nil {
				lastRun, trainErr = tr.Status()
			}
		}
	})
	if trainErr != nil {
		t.Fatal(trainErr)
	}
	return trainDir
}

func TestMain(m *testing.M) {
	_ = SetLogLevel(LogWarn)
	code := m.Run()
	if trainDir != "" {
		os.RemoveAll(filepath.Dir(trainDir))
	}
	os.Exit(code)
}

func TestTrainingReportsStatusAndWritesFiles(t *testing.T) {
	dir := trainedRun(t)
	if firstRun.Steps != 3 || firstRun.ImagesSeen != 96 || firstRun.ImagesTotal != trainSteps*32 || firstRun.Done {
		t.Errorf("after 3 steps: %+v", firstRun)
	}
	if math.IsNaN(firstRun.Loss) || firstRun.LearningRate <= 0 {
		t.Errorf("loss %v, lr %v", firstRun.Loss, firstRun.LearningRate)
	}
	if !lastRun.Done || lastRun.Steps != trainSteps {
		t.Errorf("at the end: %+v", lastRun)
	}
	for _, name := range []string{"checkpoint-0000000.safetensors", "ema-0.050-0000000.safetensors", "ema-0.100-0000000.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}

func TestClosedTrainerAndModel(t *testing.T) {
	dir := trainedRun(t)
	tr, err := ResumeTrainer(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := tr.Run(1); n != 0 || err != nil {
		t.Errorf("run of a finished run: %d %v", n, err)
	}
	tr.Close()
	tr.Close()
	if _, err := tr.Run(1); err != ErrClosed {
		t.Errorf("run after close: %v", err)
	}
	m, err := OpenModel(filepath.Join(dir, "checkpoint-0000000.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSampler(m, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m.Close()
	if _, err := s.Sample([]uint64{1}, nil); err != ErrClosed {
		t.Errorf("sample after the model's close: %v", err)
	}
	if _, err := NewSampler(m, ""); err != ErrClosed {
		t.Errorf("sampler of a closed model: %v", err)
	}
}

func TestModelShapeAndConfig(t *testing.T) {
	m, err := OpenModel(filepath.Join(trainedRun(t), "checkpoint-0000000.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	shape, err := m.Shape()
	if err != nil || shape != (Shape{Channels: 1, Resolution: 16, LabelDim: 10}) {
		t.Errorf("shape %+v %v", shape, err)
	}
	if n, err := m.NumParameters(); n < 100000 || err != nil {
		t.Errorf("parameters %d %v", n, err)
	}
	if config, err := m.Config(FormatText); err != nil || !bytes.Contains(config, []byte("img_resolution: 16")) {
		t.Errorf("config %s %v", config, err)
	}
}

func TestSamplesDependOnlyOnSeedAndLabel(t *testing.T) {
	m, err := OpenModel(filepath.Join(trainedRun(t), "ema-0.100-0000000.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := NewSampler(m, "num_steps: 4")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	batch, err := s.Sample([]uint64{7, 8, 9}, []int64{0, 3, -1})
	if err != nil || len(batch) != 3*256 {
		t.Fatalf("%d bytes, %v", len(batch), err)
	}
	single, err := s.Sample([]uint64{9}, []int64{-1})
	if err != nil {
		t.Fatal(err)
	}
	maxDiff := 0
	for i := 0; i < 256; i++ {
		d := int(single[i]) - int(batch[512+i])
		if d < 0 {
			d = -d
		}
		if d > maxDiff {
			maxDiff = d
		}
	}
	if maxDiff > 1 {
		t.Errorf("image 2 alone differs from its batch row by %d", maxDiff)
	}
	dpm, err := NewSampler(m, "num_steps: 4 solver: EULER_ANCESTRAL")
	if err != nil {
		t.Fatal(err)
	}
	defer dpm.Close()
	if images, err := dpm.SampleFloat([]uint64{7, 8, 9}, nil); err != nil || len(images) != 3*256 {
		t.Errorf("Euler ancestral: %d values, %v", len(images), err)
	}
	// Several goroutines sample from one model at once.
	var wg sync.WaitGroup
	results := make([][]byte, 3)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i], _ = s.Sample([]uint64{7, 8, 9}, []int64{0, 3, -1})
		}(i)
	}
	wg.Wait()
	for i, r := range results {
		if !bytes.Equal(r, batch) {
			t.Errorf("goroutine %d sampled different images", i)
		}
	}
}

func TestBadSamplerInputs(t *testing.T) {
	m, err := OpenModel(filepath.Join(trainedRun(t), "checkpoint-0000000.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_, err = NewSampler(m, "num_steps: 0")
	asError(t, err, StatusInvalidConfig, "SamplerConfig.num_steps")
	s, err := NewSampler(m, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Sample([]uint64{1, 2}, []int64{0})
	asError(t, err, StatusInvalidArgument, "labels")
	_, err = s.Sample([]uint64{1}, []int64{10})
	asError(t, err, StatusInvalidArgument, "")
}

func TestGridIsAPng(t *testing.T) {
	dir := trainedRun(t)
	m, err := OpenModel(filepath.Join(dir, "checkpoint-0000000.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	grid := filepath.Join(t.TempDir(), "grid.png")
	s, err := NewSampler(m, "num_steps: 2")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SampleGrid([]uint64{0, 1, 2, 3}, []int64{0, 1, 2, 3}, 2, grid); err != nil {
		t.Fatal(err)
	}
	png, err := os.ReadFile(grid)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("not a PNG: %v", err)
	}
}

func TestPostHocEMA(t *testing.T) {
	dir := trainedRun(t)
	out := filepath.Join(dir, "phema")
	residuals, err := PostHocEMA(dir, []float64{0.10}, out)
	if err != nil || len(residuals) != 1 || residuals[0] < 0 || residuals[0] > 1e-6 {
		t.Fatalf("residuals %v, %v", residuals, err)
	}
	if _, err := os.Stat(filepath.Join(out, "phema-0.100-0000000.safetensors")); err != nil {
		t.Error(err)
	}
	_, err = PostHocEMA(dir, []float64{0.01}, out)
	asError(t, err, StatusInvalidArgument, "0.01")
}
