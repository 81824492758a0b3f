package diffuse

import "diffuse/internal/native"

// Sampler is the EDM sampler: a SamplerConfig (empty: 32 Heun steps, sigma 0.002..80, rho 7) and an
// optional guide network, D = D_guide + w (D_model - D_guide). Image i depends only on seeds[i] and
// labels[i]. A Sampler holds no native memory; any number of goroutines may use one.
type Sampler struct {
	Config []byte
	Format Format
	Guide  *Model
}

// NewSampler is a Sampler with a text-format SamplerConfig, e.g. "num_steps: 16".
func NewSampler(config string) Sampler { return Sampler{Config: []byte(config), Format: FormatText} }

var noGuide = native.SwigcptrModel(0) // NULL: no guide

// Sample generates one image per seed; labels is nil (unconditional) or one class per seed (-1:
// none). It returns count x channels x resolution x resolution bytes, each image in C, H, W order.
func (s Sampler) Sample(m *Model, seeds []uint64, labels []int64) ([]byte, error) {
	var images []byte
	err := s.withModels(m, func(h, guide native.Model, st native.Status) {
		images = h.Sample(guide, s.Config, int(s.Format), seedSlice(seeds), labels, st)
	})
	return images, err
}

// SampleGrid is Sample, then writes the images as one PNG grid (columns 0: square) to path.
func (s Sampler) SampleGrid(m *Model, seeds []uint64, labels []int64, columns int, path string) error {
	return s.withModels(m, func(h, guide native.Model, st native.Status) {
		h.Sample_png_grid(guide, s.Config, int(s.Format), seedSlice(seeds), labels, columns, path, st)
	})
}

func (s Sampler) withModels(m *Model, f func(h, guide native.Model, st native.Status)) error {
	if s.Guide == nil {
		return m.with(func(h native.Model, st native.Status) { f(h, noGuide, st) })
	}
	s.Guide.mu.RLock()
	defer s.Guide.mu.RUnlock()
	if s.Guide.closed {
		return ErrClosed
	}
	guide := s.Guide.h
	return m.with(func(h native.Model, st native.Status) { f(h, guide, st) })
}

func seedSlice(seeds []uint64) []int64 {
	out := make([]int64, len(seeds))
	for i, seed := range seeds {
		out[i] = int64(seed)
	}
	return out
}
