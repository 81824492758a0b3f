// Trains a tiny class-conditional diffusion model on Fashion-MNIST from Go, then runs post-hoc EMA
// and samples a grid of images:
//
//	train_fashion_mnist RUN_DIR [STEPS]
//
// RUN_DIR receives the checkpoint, EMA snapshots, phema/ and samples.png. Fashion-MNIST is read from
// $DIFFUSE_FASHION_MNIST (default: Debian's dataset-fashion-mnist). An existing run is resumed.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"diffuse"
)

func config(runDir string, steps int) string {
	data := os.Getenv("DIFFUSE_FASHION_MNIST")
	if data == "" {
		data = "/usr/share/datasets/fashion-mnist"
	}
	return fmt.Sprintf(`model { img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2]
        num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16 }
data { train { format: IDX path: %q labels_path: %q } resize: RESIZE }
optimizer { rampup_images: 64 }
ema { sigma_rels: [0.05, 0.10] snapshot_images: 1024 }
run { output_dir: %q batch_size: 32 duration_images: %d
      status_images: 64 checkpoint_images: 0 validation_images: 32 validation_interval_images: 0 }`,
		filepath.Join(data, "train-images-idx3-ubyte.gz"), filepath.Join(data, "train-labels-idx1-ubyte.gz"),
		runDir, steps*32)
}

func run(runDir string, steps int) error {
	fmt.Println("libdiffuse", diffuse.Version())
	if err := diffuse.SetLogLevel(diffuse.LogWarn); err != nil {
		return err
	}
	var trainer *diffuse.Trainer
	var err error
	if _, statErr := os.Stat(filepath.Join(runDir, "config.textproto")); statErr == nil {
		trainer, err = diffuse.ResumeTrainer(runDir)
	} else {
		trainer, err = diffuse.NewTrainer(config(runDir, steps))
	}
	if err != nil {
		return err
	}
	defer trainer.Close()
	for {
		status, err := trainer.Status()
		if err != nil {
			return err
		}
		if status.Done {
			break
		}
		if _, err := trainer.Run(2); err != nil {
			return err
		}
		status, _ = trainer.Status()
		fmt.Printf("  %d/%d images, %d steps, loss %.4f, %.0f img/s\n", status.ImagesSeen, status.ImagesTotal,
			status.Steps, status.Loss, status.ImagesPerSecond)
	}

	// Post-hoc EMA from the run's snapshots, then a grid with one column per class.
	phemaDir := filepath.Join(runDir, "phema")
	residuals, err := diffuse.PostHocEMA(runDir, []float64{0.10}, phemaDir)
	if err != nil {
		return err
	}
	fmt.Printf("post-hoc EMA sigma_rel 0.10: residual %.2g\n", residuals[0])
	files, err := filepath.Glob(filepath.Join(phemaDir, "phema-0.100-*.safetensors"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no post-hoc EMA output in %s", phemaDir)
	}
	model, err := diffuse.OpenModel(files[0])
	if err != nil {
		return err
	}
	defer model.Close()
	shape, err := model.Shape()
	if err != nil {
		return err
	}
	params, _ := model.NumParameters()
	fmt.Printf("model: %d parameters, %dx%dx%d, %d classes\n", params, shape.Channels, shape.Resolution,
		shape.Resolution, shape.LabelDim)
	seeds := make([]uint64, 20)
	labels := make([]int64, 20)
	for i := range seeds {
		seeds[i], labels[i] = uint64(i), int64(i%10)
	}
	grid := filepath.Join(runDir, "samples.png")
	sampler, err := diffuse.NewSampler(model, "num_steps: 8")
	if err != nil {
		return err
	}
	defer sampler.Close()
	if err := sampler.SampleGrid(seeds, labels, 10, grid); err != nil {
		return err
	}
	fmt.Println("samples:", grid)
	return nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: train_fashion_mnist RUN_DIR [STEPS]")
		os.Exit(2)
	}
	steps := 8
	if len(os.Args) > 2 {
		n, err := strconv.Atoi(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, "STEPS:", err)
			os.Exit(2)
		}
		steps = n
	}
	runDir, _ := filepath.Abs(os.Args[1])
	if err := run(runDir, steps); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
