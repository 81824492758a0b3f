// Tests of the C# binding: a plain Mono program (no test framework in Debian's Mono) that prints one
// line per failed check and "N passed, N failed", exiting non-zero on any failure.
using System;
using System.IO;
using System.Linq;
using Diffuse;

public static class Tests {
  private static int passed, failed;

  private static void Check(bool condition, string what) {
    if (condition) {
      ++passed;
    } else {
      ++failed;
      Console.Error.WriteLine("FAILED: " + what);
    }
  }

  // Runs action, which must throw a DiffuseException with status and a message containing text.
  private static void Throws(Action action, int status, string text, string what) {
    try {
      action();
      Check(false, what + ": no exception");
    } catch (DiffuseException e) {
      Check(e.Status == status, what + ": status " + e.Status + " (" + e.Message + "), want " + status);
      Check(e.Message.Contains(text), what + ": message '" + e.Message + "' lacks '" + text + "'");
    }
  }

  private static string FashionMnistDir() {
    string dir = Environment.GetEnvironmentVariable("DIFFUSE_FASHION_MNIST");
    return string.IsNullOrEmpty(dir) ? "/usr/share/datasets/fashion-mnist" : dir;
  }

  private static string TinyConfig(string runDir, int steps) {
    string data = FashionMnistDir();
    return "model { img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2]"
        + " num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16 }"
        + " data { train { format: IDX path: \"" + data + "/train-images-idx3-ubyte.gz\""
        + " labels_path: \"" + data + "/train-labels-idx1-ubyte.gz\" } resize: RESIZE }"
        + " optimizer { rampup_images: 64 } ema { sigma_rels: [0.05, 0.10] snapshot_images: 1024 }"
        + " run { output_dir: \"" + runDir + "\" batch_size: 32 duration_images: " + steps * 32
        + " status_images: 64 checkpoint_images: 0 validation_images: 32 validation_interval_images: 0 threads: 1 }";
  }

  private static void ErrorsCarryStatusAndMessage() {
    Check(Library.AbiVersion == 0 && Library.Version.StartsWith("0."), "version " + Library.Version);
    Throws(() => Trainer.Create("run { batch_size: 0 }"), DiffuseException.InvalidConfig, "TrainConfig.",
           "bad config");
    Throws(() => Trainer.Create("run { no_such_field: 1 }"), DiffuseException.InvalidConfig, "no_such_field",
           "unknown field");
    Throws(() => Trainer.Create("{\"run\": {\"batchSize\": \"x\"}}", Format.Json), DiffuseException.InvalidConfig, "",
           "bad JSON");
    Throws(() => Model.Open("/nonexistent.safetensors"), DiffuseException.IO, "/nonexistent.safetensors",
           "missing model");
    Throws(() => Library.SetNumThreads(0), DiffuseException.InvalidArgument, "", "0 threads");
    Throws(() => Library.DeviceAvailable("quantum"), DiffuseException.InvalidArgument, "quantum", "bad device");
    Check(Library.DeviceAvailable("cpu"), "cpu available");
    string resolved = Library.ResolveTrainConfig(
        "run { output_dir: \"/tmp/x\" duration_images: 4096 } data { train { format: IDX path: \"/x\" } }");
    Check(resolved.Contains("batch_size: 2048"), "resolved config: " + resolved);
    try {
      Trainer.Resume("/nonexistent/run");
      Check(false, "resume of a missing run");
    } catch (DiffuseException e) {
      Check(e.Message.Contains("/nonexistent/run"), "resume message: " + e.Message);
    }
  }

  private static void TrainSampleAndPostHocEma(string runDir) {
    const int steps = 8;
    using (var trainer = Trainer.Create(TinyConfig(runDir, steps))) {
      Check(trainer.Run(3) == 3, "3 steps");
      TrainStatus s = trainer.Status;
      Check(s.Steps == 3 && s.ImagesSeen == 96 && s.ImagesTotal == steps * 32 && !s.Done, "status " + s);
      Check(!double.IsNaN(s.Loss) && s.LearningRate > 0, "loss and lr " + s);
      while (!trainer.Status.Done) trainer.Run(4);
      Check(trainer.Status.Steps == steps, "steps at the end");
    }
    string checkpoint = Path.Combine(runDir, "checkpoint-0000000.safetensors");
    Check(File.Exists(checkpoint), "checkpoint written");
    Check(File.Exists(Path.Combine(runDir, "ema-0.100-0000000.safetensors")), "snapshot written");

    using (var model = Model.Open(checkpoint)) {
      ModelShape shape = model.Shape;
      Check(shape.Channels == 1 && shape.Resolution == 16 && shape.LabelDim == 10, "shape");
      Check(model.NumParameters > 100000, "parameters");
      Check(model.ConfigText.Contains("img_resolution: 16"), "config text");
      using (var sampler = Sampler.Create(model, "num_steps: 4"))
      using (var defaults = Sampler.Create(model)) {
        byte[] batch = sampler.Sample(new long[] {7, 8, 9}, new long[] {0, 3, -1});
        Check(batch.Length == 3 * 256, "sample size " + batch.Length);
        byte[] single = sampler.Sample(new long[] {9}, new long[] {-1});
        int maxDiff = Enumerable.Range(0, 256).Max(i => Math.Abs(single[i] - batch[512 + i]));
        Check(maxDiff <= 1, "image alone vs in a batch: " + maxDiff);
        Throws(() => Sampler.Create(model, "num_steps: 0"), DiffuseException.InvalidConfig, "SamplerConfig.num_steps",
               "bad sampler config");
        using (var dpm = Sampler.Create(model, "num_steps: 4 solver: DPMPP_2M_SDE")) {
          Check(dpm.Sample(new long[] {7, 8, 9}).Length == 3 * 256, "DPM++(2M) SDE sample size");
          Check(dpm.SampleFloat(new long[] {7}).Length == 256, "float sample size");
        }
        Throws(() => defaults.Sample(new long[] {1, 2}, new long[] {0}), DiffuseException.InvalidArgument, "labels",
               "label count");
      }
      string grid = Path.Combine(runDir, "grid.png");
      using (var sampler = Sampler.Create(model, "num_steps: 2")) {
        sampler.SampleGrid(new long[] {0, 1, 2, 3}, new long[] {0, 1, 2, 3}, 2, grid);
      }
      byte[] png = File.ReadAllBytes(grid);
      Check(png.Length > 8 && png[0] == 0x89 && png[1] == (byte)'P', "grid is a PNG");
    }
    var closed = Model.Open(checkpoint);
    closed.Dispose();
    closed.Dispose();
    try {
      Sampler.Create(closed);
      Check(false, "sampling a disposed model");
    } catch (ObjectDisposedException) {
      Check(true, "sampling a disposed model");
    }

    string phema = Path.Combine(runDir, "phema");
    double[] residuals = PostHocEma.Reconstruct(runDir, new[] {0.10}, phema);
    Check(residuals.Length == 1 && residuals[0] >= 0 && residuals[0] < 1e-6, "tracked profile reproduced");
    Check(File.Exists(Path.Combine(phema, "phema-0.100-0000000.safetensors")), "phema written");
    Throws(() => PostHocEma.Reconstruct(runDir, new[] {0.01}, phema), DiffuseException.InvalidArgument, "0.01",
           "short profile refused");
  }

  public static int Main() {
    Library.SetLogLevel(LogLevel.Warn);
    string dir = Path.Combine(Path.GetTempPath(), "diffuse-csharp-" + Guid.NewGuid().ToString("N"));
    Directory.CreateDirectory(dir);
    try {
      ErrorsCarryStatusAndMessage();
      TrainSampleAndPostHocEma(Path.Combine(dir, "run"));
    } catch (Exception e) {
      ++failed;
      Console.Error.WriteLine("FAILED with an exception: " + e);
    } finally {
      Directory.Delete(dir, true);
    }
    Console.WriteLine("{0} passed, {1} failed", passed, failed);
    return failed == 0 ? 0 : 1;
  }
}
