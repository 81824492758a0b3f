package diffuse

import "diffuse/internal/native"

// PostHocOptions are the optional settings of PostHocEMAWith.
type PostHocOptions struct {
	Nimg        int64   // training time of the snapshots to use; -1 = the latest
	MaxResidual float64 // refuse fits worse than this; <= 0 = 0.05
	Force       bool    // write poorly fitted profiles anyway
	FP16        bool    // write fp16 instead of fp32
}

// PostHocEMA reconstructs the EMA of each sigma_rel at the latest snapshot time from the ema-*
// snapshots in runDir, writes outDir/phema-<sigma_rel>-<kimg>.safetensors and returns the relative
// L2 residual of each fit.
func PostHocEMA(runDir string, sigmaRels []float64, outDir string) ([]float64, error) {
	return PostHocEMAWith(runDir, sigmaRels, outDir, PostHocOptions{Nimg: -1})
}

// PostHocEMAWith is PostHocEMA with every option of diffuse_phema_reconstruct.
func PostHocEMAWith(runDir string, sigmaRels []float64, outDir string, o PostHocOptions) ([]float64, error) {
	var residuals []float64
	err := call(func(s native.Status) {
		residuals = native.Phema_reconstruct(runDir, sigmaRels, o.Nimg, o.MaxResidual, o.Force, outDir, o.FP16, s)
	})
	return residuals, err
}
