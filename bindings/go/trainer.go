package diffuse

import (
	"runtime"
	"sync"

	"diffuse/internal/native"
)

// Trainer is a training run: network, optimizer, EMAs, data loader and run directory.
type Trainer struct {
	mu     sync.RWMutex // Close excludes every other call; the rest only read h
	h      native.Trainer
	closed bool
}

// TrainStatus is the progress of a run as of its last completed step.
type TrainStatus struct {
	ImagesSeen, ImagesTotal, Steps int64
	Loss                           float64 // mean loss per element of the last step (NaN before the first)
	LearningRate, Beta1            float64
	ImagesPerSecond                float64
	SecondsPerStep                 float64
	ElapsedSeconds, ETASeconds     float64
	ValidationLoss                 float64 // NaN before the first validation
	Done                           bool
}

// NewTrainer starts a new run from a text-format TrainConfig.
func NewTrainer(config string) (*Trainer, error) {
	return NewTrainerFrom([]byte(config), FormatText)
}

// NewTrainerFrom starts a new run from a TrainConfig in any format.
func NewTrainerFrom(config []byte, format Format) (*Trainer, error) {
	h := native.NewTrainer()
	if err := call(func(s native.Status) { h.Create(config, int(format), s) }); err != nil {
		native.DeleteTrainer(h)
		return nil, err
	}
	return newTrainer(h), nil
}

// NewTrainerWithImages starts a new run whose text-format TrainConfig reads MEMORY data from train
// (and from validation when its validation data is MEMORY too; nil otherwise).
func NewTrainerWithImages(config string, train, validation *Images) (*Trainer, error) {
	return NewTrainerWithImagesFrom([]byte(config), FormatText, train, validation)
}

// NewTrainerWithImagesFrom is NewTrainerWithImages for a TrainConfig in any format.
func NewTrainerWithImagesFrom(config []byte, format Format, train, validation *Images) (*Trainer, error) {
	t, freeTrain := train.toNative()
	defer freeTrain()
	v, freeValidation := validation.toNative()
	defer freeValidation()
	h := native.NewTrainer()
	if err := call(func(s native.Status) { h.Create_with_images(config, int(format), t, v, s) }); err != nil {
		native.DeleteTrainer(h)
		return nil, err
	}
	return newTrainer(h), nil
}

// ResumeTrainerWithImages continues a MEMORY-data run: the same images handed in again.
func ResumeTrainerWithImages(runDir string, train, validation *Images) (*Trainer, error) {
	t, freeTrain := train.toNative()
	defer freeTrain()
	v, freeValidation := validation.toNative()
	defer freeValidation()
	h := native.NewTrainer()
	if err := call(func(s native.Status) { h.Resume_with_images(runDir, t, v, s) }); err != nil {
		native.DeleteTrainer(h)
		return nil, err
	}
	return newTrainer(h), nil
}

// ResumeTrainer continues the run in runDir exactly where its newest checkpoint left it.
func ResumeTrainer(runDir string) (*Trainer, error) {
	h := native.NewTrainer()
	if err := call(func(s native.Status) { h.Resume(runDir, s) }); err != nil {
		native.DeleteTrainer(h)
		return nil, err
	}
	return newTrainer(h), nil
}

func newTrainer(h native.Trainer) *Trainer {
	t := &Trainer{h: h}
	runtime.SetFinalizer(t, (*Trainer).Close)
	return t
}

func (t *Trainer) with(f func(h native.Trainer, s native.Status)) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return ErrClosed
	}
	return call(func(s native.Status) { f(t.h, s) })
}

// Run trains up to maxSteps optimizer steps and returns the number taken (fewer once done).
func (t *Trainer) Run(maxSteps int64) (int64, error) {
	var taken int64
	err := t.with(func(h native.Trainer, s native.Status) { taken = h.Run(maxSteps, s) })
	return taken, err
}

// Status returns the progress as of the last completed step.
func (t *Trainer) Status() (TrainStatus, error) {
	var out TrainStatus
	err := t.with(func(h native.Trainer, s native.Status) {
		p := h.Progress(s)
		defer native.DeleteDiffuse_train_status(p)
		out = TrainStatus{
			ImagesSeen: p.GetImages_seen(), ImagesTotal: p.GetImages_total(), Steps: p.GetSteps(),
			Loss: p.GetLoss(), LearningRate: p.GetLearning_rate(), Beta1: p.GetBeta1(),
			ImagesPerSecond: p.GetImages_per_second(), SecondsPerStep: p.GetSeconds_per_step(),
			ElapsedSeconds: p.GetElapsed_seconds(), ETASeconds: p.GetEta_seconds(),
			ValidationLoss: p.GetValidation_loss(), Done: p.GetDone() != 0,
		}
	})
	return out, err
}

// StatusMessage returns the progress as a TrainStatus message in format, with the run directory.
func (t *Trainer) StatusMessage(format Format) ([]byte, error) {
	var message []byte
	err := t.with(func(h native.Trainer, s native.Status) { message = h.Status_message(int(format), s) })
	return message, err
}

// RequestStop makes the current (or next) Run write a checkpoint and return after its step.
func (t *Trainer) RequestStop() error {
	return t.with(func(h native.Trainer, s native.Status) { h.Request_stop(s) })
}

// SaveCheckpoint writes a checkpoint into the run directory now.
func (t *Trainer) SaveCheckpoint() error {
	return t.with(func(h native.Trainer, s native.Status) { h.Save_checkpoint(s) })
}

// Close releases the run (no checkpoint is written). Closing twice is allowed.
func (t *Trainer) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.closed {
		native.DeleteTrainer(t.h)
		t.closed = true
		runtime.SetFinalizer(t, nil)
	}
	return nil
}
