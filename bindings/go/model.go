package diffuse

import (
	"runtime"
	"sync"

	"diffuse/internal/native"
)

// Model is a network ready for sampling: a run's checkpoint, an EMA snapshot, a post-hoc EMA output
// or any safetensors file with EDM2 names.
type Model struct {
	mu     sync.RWMutex // Close excludes every other call; sampling calls share it
	h      native.Model
	closed bool
}

// Shape is the image geometry of a model.
type Shape struct {
	Channels, Resolution int
	LabelDim             int // number of classes; 0 = unconditional
}

// OpenModel opens a model file on the CPU with the config stored in it.
func OpenModel(path string) (*Model, error) { return OpenModelWith(path, "cpu", nil, FormatBinary) }

// OpenModelWith opens a model file on device ("cpu", "cuda", "cuda:N") with an explicit ModelConfig
// (nil: the file's own).
func OpenModelWith(path, device string, config []byte, format Format) (*Model, error) {
	h := native.NewModel()
	if err := call(func(s native.Status) { h.Open(path, device, config, int(format), s) }); err != nil {
		native.DeleteModel(h)
		return nil, err
	}
	m := &Model{h: h}
	runtime.SetFinalizer(m, (*Model).Close)
	return m, nil
}

func (m *Model) with(f func(h native.Model, s native.Status)) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return ErrClosed
	}
	return call(func(s native.Status) { f(m.h, s) })
}

// Save writes the network and its config to path (fp16 or fp32), atomically.
func (m *Model) Save(path string, fp16 bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	return call(func(s native.Status) { m.h.Save(path, fp16, s) })
}

// Config returns the resolved ModelConfig in format.
func (m *Model) Config(format Format) ([]byte, error) {
	var config []byte
	err := m.with(func(h native.Model, s native.Status) { config = h.Config(int(format), s) })
	return config, err
}

// NumParameters is the number of network parameters.
func (m *Model) NumParameters() (int64, error) {
	var n int64
	err := m.with(func(h native.Model, s native.Status) { n = h.Num_parameters(s) })
	return n, err
}

// Shape returns the image geometry.
func (m *Model) Shape() (Shape, error) {
	var out Shape
	err := m.with(func(h native.Model, s native.Status) {
		p := h.Shape(s)
		defer native.DeleteModelShape(p)
		out = Shape{Channels: p.GetChannels(), Resolution: p.GetResolution(), LabelDim: p.GetLabel_dim()}
	})
	return out, err
}

// Close releases the model. Closing twice is allowed.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		native.DeleteModel(m.h)
		m.closed = true
		runtime.SetFinalizer(m, nil)
	}
	return nil
}
