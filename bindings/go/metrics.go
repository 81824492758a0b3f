package diffuse

import "diffuse/internal/native"

// ValidationLoss is the validation loss at the fixed noise levels a run writes to stats.jsonl.
type ValidationLoss struct {
	Sigmas, Losses []float64 // DIFFUSE_VALIDATION_SIGMAS each
	Mean           float64
}

// ValidationLoss measures m on held-out images with noise fixed by seed (the same seed compares
// models).
func (m *Model) ValidationLoss(images *Images, seed uint64) (ValidationLoss, error) {
	var out ValidationLoss
	if images == nil {
		return out, &Error{Status: int(native.DIFFUSE_E_INVALID_ARGUMENT), Name: "invalid argument", Message: "images is nil"}
	}
	n, free := images.toNative()
	defer free()
	err := m.with(func(h native.Model, s native.Status) {
		v := native.Validation_loss(h, n, int64(seed), s)
		defer native.DeleteValidationLoss(v)
		out = ValidationLoss{Sigmas: v.Sigmas(), Losses: v.Losses(), Mean: v.Mean()}
	})
	return out, err
}

// EvalResult is the sample quality of a model: FD_cls, KID_cls and precision/recall in the features
// of a classifier trained on the dataset, SWD of 7x7 patches (x1000), and the validation loss on the
// real images.
type EvalResult struct {
	NumImages         int64
	FDCls, KIDCls     float64
	Precision, Recall float64
	SWD               float64
	ValidationLoss    float64
}

// Evaluate samples EvalConfig.num_images images from m and measures them against the real images of
// an EvalConfig (text format).
func (m *Model) Evaluate(config string) (EvalResult, error) {
	return m.EvaluateWith([]byte(config), FormatText)
}

// EvaluateWith is Evaluate for an EvalConfig in any format.
func (m *Model) EvaluateWith(config []byte, format Format) (EvalResult, error) {
	var out EvalResult
	err := m.with(func(h native.Model, s native.Status) {
		r := native.Evaluate(h, config, int(format), s)
		defer native.DeleteEvalResult(r)
		out = EvalResult{NumImages: r.GetNum_images(), FDCls: r.GetFd_cls(), KIDCls: r.GetKid_cls(),
			Precision: r.GetPrecision(), Recall: r.GetRecall(), SWD: r.GetSwd(), ValidationLoss: r.GetValidation_loss()}
	})
	return out, err
}

// Consistency says how alike two models' images are from the same seeds and noise.
type Consistency struct {
	RelativeMSD float64 // mean((a - b)^2) / var(a and b): 0 = identical, about 2 for independent sets
	Cosine      float64 // mean cosine similarity of the image pairs
}

// Consistency compares other's images with s's model's from the same seeds (s's config; s must have
// no guide).
func (s *Sampler) Consistency(other *Model, seeds []uint64, labels []int64) (Consistency, error) {
	var out Consistency
	err := withModels(other, nil, func(o, _ native.Model) error {
		return s.with(func(h native.Sampler, st native.Status) {
			if v := h.Consistency(o, seedSlice(seeds), labels, st); len(v) == 2 {
				out = Consistency{RelativeMSD: v[0], Cosine: v[1]}
			}
		})
	})
	return out, err
}
