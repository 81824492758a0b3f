// Trains a tiny class-conditional diffusion model on Fashion-MNIST from Java, then runs post-hoc EMA
// and samples a grid of images:
//
//   java -Djava.library.path=DIR_OF_libdiffuse_java.so -cp diffuse.jar:. TrainFashionMnist RUN_DIR [STEPS]
//
// RUN_DIR receives the checkpoint, EMA snapshots, phema/ and samples.png. Fashion-MNIST is read from
// $DIFFUSE_FASHION_MNIST (default: Debian's dataset-fashion-mnist). An existing run is resumed.
import java.nio.file.Files;
import java.nio.file.Path;
import org.diffuse.Diffuse;
import org.diffuse.DiffuseException;
import org.diffuse.Model;
import org.diffuse.PostHocEma;
import org.diffuse.Sampler;
import org.diffuse.Trainer;

public final class TrainFashionMnist {
  private TrainFashionMnist() {}

  static String config(Path runDir, int steps) {
    String env = System.getenv("DIFFUSE_FASHION_MNIST");
    String data = env != null && !env.isEmpty() ? env : "/usr/share/datasets/fashion-mnist";
    return String.join("\n",
        "model { img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2]",
        "        num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16 }",
        "data { train { format: IDX path: \"" + data + "/train-images-idx3-ubyte.gz\"",
        "               labels_path: \"" + data + "/train-labels-idx1-ubyte.gz\" }",
        "       resize: RESIZE }",
        "optimizer { rampup_images: 64 }",
        "ema { sigma_rels: [0.05, 0.10] snapshot_images: 1024 }",
        "run { output_dir: \"" + runDir + "\" batch_size: 32 duration_images: " + steps * 32,
        "      status_images: 64 checkpoint_images: 0 validation_images: 32 validation_interval_images: 0 }");
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: TrainFashionMnist RUN_DIR [STEPS]");
      System.exit(2);
    }
    Path runDir = Path.of(args[0]).toAbsolutePath();
    int steps = args.length > 1 ? Integer.parseInt(args[1]) : 8;
    System.out.println("libdiffuse " + Diffuse.version());
    Diffuse.setLogLevel(Diffuse.LogLevel.WARN);
    try {
      boolean resume = Files.exists(runDir.resolve("config.textproto"));
      try (Trainer trainer = resume ? Trainer.resume(runDir.toString()) : Trainer.create(config(runDir, steps))) {
        while (!trainer.status().done) {
          trainer.run(2);
          System.out.println("  " + trainer.status());
        }
      }
      // Post-hoc EMA from the run's snapshots, then a grid with one column per class.
      double[] residuals = PostHocEma.reconstruct(runDir.toString(), new double[] {0.10},
          runDir.resolve("phema").toString());
      System.out.printf("post-hoc EMA sigma_rel 0.10: residual %.2g%n", residuals[0]);
      Path phema;
      try (java.util.stream.Stream<Path> files = Files.list(runDir.resolve("phema"))) {
        phema = files.filter(p -> p.getFileName().toString().startsWith("phema-0.100-")).findFirst().get();
      }
      long[] seeds = new long[20];
      long[] labels = new long[20];
      for (int i = 0; i < 20; ++i) {
        seeds[i] = i;
        labels[i] = i % 10;
      }
      Path grid = runDir.resolve("samples.png");
      try (Model model = Model.open(phema.toString()); Sampler sampler = Sampler.create(model, "num_steps: 8")) {
        System.out.printf("model: %d parameters, %dx%dx%d, %d classes%n", model.numParameters(), model.channels(),
            model.resolution(), model.resolution(), model.labelDim());
        sampler.sampleGrid(seeds, labels, 10, grid.toString());
      }
      System.out.println("samples: " + grid);
    } catch (DiffuseException e) {
      System.err.println("diffuse failed (" + e.getStatusName() + "): " + e.getMessage());
      System.exit(1);
    }
  }
}
