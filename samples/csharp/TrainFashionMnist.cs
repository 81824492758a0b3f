// Trains a tiny class-conditional diffusion model on Fashion-MNIST from C#, then runs post-hoc EMA
// and samples a grid of images:
//
//   mono TrainFashionMnist.exe RUN_DIR [STEPS]     (Diffuse.dll and libdiffuse_csharp.so beside it)
//
// RUN_DIR receives the checkpoint, EMA snapshots, phema/ and samples.png. Fashion-MNIST is read from
// $DIFFUSE_FASHION_MNIST (default: Debian's dataset-fashion-mnist). An existing run is resumed.
using System;
using System.IO;
using System.Linq;
using Diffuse;

public static class TrainFashionMnist {
  private static string Config(string runDir, int steps) {
    string data = Environment.GetEnvironmentVariable("DIFFUSE_FASHION_MNIST");
    if (string.IsNullOrEmpty(data)) data = "/usr/share/datasets/fashion-mnist";
    return string.Join("\n",
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

  public static int Main(string[] args) {
    if (args.Length < 1) {
      Console.Error.WriteLine("usage: TrainFashionMnist.exe RUN_DIR [STEPS]");
      return 2;
    }
    string runDir = Path.GetFullPath(args[0]);
    int steps = args.Length > 1 ? int.Parse(args[1]) : 8;
    Console.WriteLine("libdiffuse " + Library.Version);
    try {
      Library.SetLogLevel(LogLevel.Warn);
      bool resume = File.Exists(Path.Combine(runDir, "config.textproto"));
      using (var trainer = resume ? Trainer.Resume(runDir) : Trainer.Create(Config(runDir, steps))) {
        while (!trainer.Status.Done) {
          trainer.Run(2);
          Console.WriteLine("  " + trainer.Status);
        }
      }
      // Post-hoc EMA from the run's snapshots, then a grid with one column per class.
      string phemaDir = Path.Combine(runDir, "phema");
      double[] residuals = PostHocEma.Reconstruct(runDir, new[] {0.10}, phemaDir);
      Console.WriteLine("post-hoc EMA sigma_rel 0.10: residual {0:G2}", residuals[0]);
      string phema = Directory.GetFiles(phemaDir, "phema-0.100-*.safetensors").First();
      long[] seeds = Enumerable.Range(0, 20).Select(i => (long)i).ToArray();
      long[] labels = seeds.Select(i => i % 10).ToArray();
      string grid = Path.Combine(runDir, "samples.png");
      using (var model = Model.Open(phema))
      using (var sampler = Sampler.Create(model, "num_steps: 8")) {
        ModelShape shape = model.Shape;
        Console.WriteLine("model: {0} parameters, {1}x{2}x{2}, {3} classes", model.NumParameters, shape.Channels,
                          shape.Resolution, shape.LabelDim);
        sampler.SampleGrid(seeds, labels, 10, grid);
      }
      Console.WriteLine("samples: " + grid);
      return 0;
    } catch (DiffuseException e) {
      Console.Error.WriteLine("diffuse failed (" + e.StatusName + "): " + e.Message);
      return 1;
    }
  }
}
