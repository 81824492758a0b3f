package org.diffuse;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/** Configs and data of the binding tests. */
final class TestData {
  private TestData() {}

  /** Fashion-MNIST in IDX format: $DIFFUSE_FASHION_MNIST, else Debian's dataset-fashion-mnist. */
  static String fashionMnistDir() {
    String dir = System.getenv("DIFFUSE_FASHION_MNIST");
    return dir != null && !dir.isEmpty() ? dir : "/usr/share/datasets/fashion-mnist";
  }

  /** A tiny class-conditional model at 16x16 trained for {@code steps} steps of 32 images. */
  static String tinyConfig(String imagesPath, String labelsPath, Path runDir, int steps) {
    return "model { img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2]"
        + " num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16 }"
        + " data { train { format: IDX path: \"" + imagesPath + "\" labels_path: \"" + labelsPath + "\" }"
        + " resize: RESIZE }"
        + " optimizer { rampup_images: 64 }"
        + " ema { sigma_rels: [0.05, 0.10] snapshot_images: 1024 }"
        + " run { output_dir: \"" + runDir + "\" batch_size: 32 duration_images: " + (steps * 32)
        + " status_images: 64 checkpoint_images: 0 validation_images: 32 validation_interval_images: 0"
        + " threads: 1 }";
  }

  static String fashionMnistConfig(Path runDir, int steps) {
    String dir = fashionMnistDir();
    return tinyConfig(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz", runDir, steps);
  }

  /**
   * Writes 64 random 16x16 images and their labels as IDX files into {@code dir}, so that creating a
   * trainer costs milliseconds; returns the config of a run in {@code runDir} over them.
   */
  static String syntheticConfig(Path dir, Path runDir) throws IOException {
    final int n = 64;
    ByteBuffer images = ByteBuffer.allocate(16 + n * 256).putInt(0x803).putInt(n).putInt(16).putInt(16);
    ByteBuffer labels = ByteBuffer.allocate(8 + n).putInt(0x801).putInt(n);
    java.util.Random random = new java.util.Random(1);
    for (int i = 0; i < n * 256; ++i) images.put((byte) random.nextInt(256));
    for (int i = 0; i < n; ++i) labels.put((byte) (i % 10));
    Path imagesPath = dir.resolve("images.idx");
    Path labelsPath = dir.resolve("labels.idx");
    if (!Files.exists(imagesPath)) {
      Files.write(imagesPath, images.array());
      Files.write(labelsPath, labels.array());
    }
    return tinyConfig(imagesPath.toString(), labelsPath.toString(), runDir, 2);
  }

  static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) return;
    try (java.util.stream.Stream<Path> paths = Files.walk(root)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
