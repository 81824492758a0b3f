package diffuse

import (
	"runtime"
	"sync"
	"unsafe"

	"diffuse/internal/native"
)

// Sampler is the EDM sampler of one model: a SamplerConfig (empty: 32 Heun steps, sigma 0.002..80,
// rho 7) parsed and checked once, and an optional guide network, D = D_guide + w (D_model - D_guide).
// Image i depends only on seeds[i] and labels[i]. It holds a native sampler (Close it) and keeps its
// models; any number of goroutines may sample with one Sampler. Sampling after its model was closed
// returns ErrClosed.
type Sampler struct {
	mu     sync.RWMutex // Close excludes every other call; sampling calls share it
	h      native.Sampler
	closed bool
	model  *Model
	guide  *Model // nil: no guide
}

// NewSampler prepares sampling from m with a text-format SamplerConfig, e.g. "num_steps: 16".
func NewSampler(m *Model, config string) (*Sampler, error) {
	return NewSamplerWith(m, nil, []byte(config), FormatText)
}

// NewSamplerWith prepares sampling from m with a SamplerConfig in any format, guided by guide (nil:
// none).
func NewSamplerWith(m, guide *Model, config []byte, format Format) (*Sampler, error) {
	h := native.NewSampler()
	err := withModels(m, guide, func(model, g native.Model) error {
		return call(func(s native.Status) { h.Create(model, g, config, int(format), s) })
	})
	if err != nil {
		native.DeleteSampler(h)
		return nil, err
	}
	sampler := &Sampler{h: h, model: m, guide: guide}
	runtime.SetFinalizer(sampler, (*Sampler).Close)
	return sampler, nil
}

var noGuide = native.SwigcptrModel(0) // NULL: no guide

// withModels runs f with the native handles of m and guide (which may be nil), holding both open.
func withModels(m, guide *Model, f func(model, guide native.Model) error) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return ErrClosed
	}
	if guide == nil {
		return f(m.h, noGuide)
	}
	guide.mu.RLock()
	defer guide.mu.RUnlock()
	if guide.closed {
		return ErrClosed
	}
	return f(m.h, guide.h)
}

func (s *Sampler) with(f func(h native.Sampler, st native.Status)) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return withModels(s.model, s.guide, func(native.Model, native.Model) error {
		return call(func(st native.Status) { f(s.h, st) })
	})
}

// Sample generates one image per seed; labels is nil (unconditional) or one class per seed (-1:
// none). It returns count x channels x resolution x resolution bytes, each image in C, H, W order.
func (s *Sampler) Sample(seeds []uint64, labels []int64) ([]byte, error) {
	var images []byte
	err := s.with(func(h native.Sampler, st native.Status) { images = h.Run(seedSlice(seeds), labels, st) })
	return images, err
}

// SampleFloat is Sample before quantisation: values about [-1, 1].
func (s *Sampler) SampleFloat(seeds []uint64, labels []int64) ([]float32, error) {
	var images []float32
	err := s.with(func(h native.Sampler, st native.Status) { images = h.Run_float(seedSlice(seeds), labels, st) })
	return images, err
}

// SampleGrid is Sample, then writes the images as one PNG grid (columns 0: square) to path.
func (s *Sampler) SampleGrid(seeds []uint64, labels []int64, columns int, path string) error {
	return s.with(func(h native.Sampler, st native.Status) {
		h.Write_png_grid(seedSlice(seeds), labels, columns, path, st)
	})
}

// SampleInto is Sample written into dst (no allocation per call): it must hold count x channels x
// resolution x resolution bytes.
func (s *Sampler) SampleInto(seeds []uint64, labels []int64, dst []byte) error {
	return s.with(func(h native.Sampler, st native.Status) {
		h.Run_into(seedSlice(seeds), labels, int(native.DIFFUSE_PIXELS_UINT8), dst, st)
	})
}

// SampleFloatInto is SampleFloat written into dst.
func (s *Sampler) SampleFloatInto(seeds []uint64, labels []int64, dst []float32) error {
	var view []byte
	if len(dst) > 0 {
		view = unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), len(dst)*4)
	}
	return s.with(func(h native.Sampler, st native.Status) {
		h.Run_into(seedSlice(seeds), labels, int(native.DIFFUSE_PIXELS_FLOAT32), view, st)
	})
}

// Model is the model s samples from.
func (s *Sampler) Model() *Model { return s.model }

// Close releases the sampler; its models stay open. Closing twice is allowed.
func (s *Sampler) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		native.DeleteSampler(s.h)
		s.closed = true
		runtime.SetFinalizer(s, nil)
	}
	return nil
}

func seedSlice(seeds []uint64) []int64 {
	out := make([]int64, len(seeds))
	for i, seed := range seeds {
		out[i] = int64(seed)
	}
	return out
}
