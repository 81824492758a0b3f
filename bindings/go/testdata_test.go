package diffuse

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
)

// fashionMnistDir is $DIFFUSE_FASHION_MNIST, else Debian's dataset-fashion-mnist.
func fashionMnistDir() string {
	if dir := os.Getenv("DIFFUSE_FASHION_MNIST"); dir != "" {
		return dir
	}
	return "/usr/share/datasets/fashion-mnist"
}

// tinyConfig is a tiny class-conditional model at 16x16 trained for steps steps of 32 images.
func tinyConfig(images, labels, runDir string, steps int) string {
	return fmt.Sprintf(`model { img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16
  channel_mult: [1, 2] num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16 }
data { train { format: IDX path: %q labels_path: %q } resize: RESIZE }
optimizer { rampup_images: 64 }
ema { sigma_rels: [0.05, 0.10] snapshot_images: 1024 }
run { output_dir: %q batch_size: 32 duration_images: %d status_images: 64 checkpoint_images: 0
  validation_images: 32 validation_interval_images: 0 threads: 1 }`, images, labels, runDir, steps*32)
}

func fashionMnistConfig(runDir string, steps int) string {
	dir := fashionMnistDir()
	return tinyConfig(filepath.Join(dir, "train-images-idx3-ubyte.gz"), filepath.Join(dir, "train-labels-idx1-ubyte.gz"),
		runDir, steps)
}

// syntheticConfig writes 64 random 16x16 images and labels as IDX files into dir (once), so that a
// trainer is created in milliseconds, and returns the config of a run in runDir over them.
func syntheticConfig(dir, runDir string) (string, error) {
	const n = 64
	images := filepath.Join(dir, "images.idx")
	labels := filepath.Join(dir, "labels.idx")
	if _, err := os.Stat(images); err != nil {
		img := binary.BigEndian.AppendUint32(nil, 0x803)
		img = binary.BigEndian.AppendUint32(img, n)
		img = binary.BigEndian.AppendUint32(img, 16)
		img = binary.BigEndian.AppendUint32(img, 16)
		pixels := make([]byte, n*256)
		rand.New(rand.NewSource(1)).Read(pixels)
		lab := binary.BigEndian.AppendUint32(nil, 0x801)
		lab = binary.BigEndian.AppendUint32(lab, n)
		for i := 0; i < n; i++ {
			lab = append(lab, byte(i%10))
		}
		if err := os.WriteFile(images, append(img, pixels...), 0o644); err != nil {
			return "", err
		}
		if err := os.WriteFile(labels, lab, 0o644); err != nil {
			return "", err
		}
	}
	return tinyConfig(images, labels, runDir, 2), nil
}
