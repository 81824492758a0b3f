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

  // 64 grey 16x16 images with a pattern per class, and their labels.
  private static Images HostImages() {
    const int count = 64, side = 16;
    var pixels = new byte[count * side * side];
    var labels = new long[count];
    for (int i = 0; i < count; ++i) {
      labels[i] = i % 10;
      for (int p = 0; p < side * side; ++p) pixels[i * side * side + p] = (byte)((i * 37 + p * (1 + i % 10)) % 256);
    }
    return new Images(pixels, side, side, 1, labels);
  }

  private static string MemoryConfig(string runDir) {
    return "model { img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2]"
        + " num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16 }"
        + " data { train { format: MEMORY } } optimizer { rampup_images: 64 }"
        + " run { output_dir: \"" + runDir + "\" batch_size: 16 duration_images: 160 status_images: 32"
        + " checkpoint_images: 0 validation_images: 16 threads: 1 }";
  }

  // Every function of diffuse.h beyond training from files and sampling bytes.
  private static void TheRestOfTheLibrary(string dir) {
    string[] parts = Library.Version.Split('.');
    Check(Library.VersionNumber == int.Parse(parts[0]) * 10000 + int.Parse(parts[1]) * 100 + int.Parse(parts[2]),
          "version number " + Library.VersionNumber);
    WorldPosition world = Library.WorldJoin();
    Check(world.Rank == 0 && world.WorldSize == 1, "world " + world.Rank + "/" + world.WorldSize);

    var messages = new System.Collections.Concurrent.ConcurrentQueue<string>();
    string logFile = Path.Combine(dir, "log.txt");
    Library.SetLogLevel(LogLevel.Info);
    Library.SetLogCallback((level, text) => messages.Enqueue(level + " " + text));
    Library.LogToFile(logFile);
    Images images = HostImages();
    string runDir = Path.Combine(dir, "memory-run");
    using (var trainer = Trainer.Create(MemoryConfig(runDir), images)) {
      Check(trainer.Run(2) == 2, "2 steps from host images");
      Check(trainer.StatusText.Contains("steps: 2"), "status message: " + trainer.StatusText);
      Check(trainer.StatusMessage(Format.Json).Length > 0, "status message as JSON");
      trainer.SaveCheckpoint();
    }
    Library.SetLogCallback(null);
    Library.LogToFile(null);
    Library.SetLogLevel(LogLevel.Warn);
    Check(messages.Any(m => m.StartsWith("Info ") && m.Contains(runDir)), "log callback: " + string.Join(" | ", messages));
    Check(File.ReadAllText(logFile).Contains(runDir), "log file names the run");
    int before = messages.Count;
    Throws(() => Trainer.Resume(runDir), DiffuseException.InvalidArgument, "MEMORY", "resume without the images");
    Check(messages.Count == before, "no callback after removing it");
    Throws(() => Trainer.Create(MemoryConfig(Path.Combine(dir, "bad")), new Images(new byte[100], 16, 16, 1)),
           DiffuseException.InvalidArgument, "100 pixel values", "pixels that are no whole image");
    using (var trainer = Trainer.Resume(runDir, images)) {
      Check(trainer.Status.Steps == 2, "resumed at step 2");
      Check(trainer.Run(1) == 1, "1 more step");
    }

    using (var model = Model.Open(Path.Combine(runDir, "checkpoint-0000000.safetensors"))) {
      ValidationLoss v = model.ValidationLoss(images, 5);
      Check(v.Sigmas.Length == 10 && Math.Abs(v.Sigmas[0] - 0.002) < 1e-12 && Math.Abs(v.Sigmas[9] - 80) < 1e-9,
            "validation sigmas");
      Check(v.Losses.Length == 10 && Math.Abs(v.Losses.Average() - v.Mean) < 1e-9 * Math.Abs(v.Mean), "validation mean");
      Check(model.ValidationLoss(images, 5).Mean == v.Mean, "validation loss deterministic");
      using (var sampler = Sampler.Create(model, "num_steps: 4")) {
        long[] seeds = {3, 4};
        long[] labels = {1, 2};
        var bytes = new byte[2 * 256];
        sampler.SampleInto(seeds, labels, bytes);
        Check(bytes.SequenceEqual(sampler.Sample(seeds, labels)), "SampleInto bytes = Sample");
        var floats = new float[2 * 256];
        sampler.SampleInto(seeds, labels, floats);
        Check(floats.SequenceEqual(sampler.SampleFloat(seeds, labels)), "SampleInto floats = SampleFloat");
        Throws(() => sampler.SampleInto(seeds, labels, new byte[10]), DiffuseException.InvalidArgument, "capacity",
               "destination too small");
        Consistency c = sampler.Consistency(model, seeds, labels);
        Check(c.RelativeMsd == 0 && Math.Abs(c.Cosine - 1) < 1e-6, "consistency with itself");
      }
      string data = FashionMnistDir();
      string eval = "reference { format: IDX path: \"" + data + "/t10k-images-idx3-ubyte.gz\" labels_path: \"" + data
          + "/t10k-labels-idx1-ubyte.gz\" } resize: RESIZE classifier: \""
          + Environment.GetEnvironmentVariable("DIFFUSE_SOURCE_DIR") + "/metrics/fashion-mnist-classifier.safetensors\""
          + " num_images: 10 k: 2 sampler { num_steps: 2 }";
      EvalResult r = model.Evaluate(eval);
      Check(r.NumImages == 10 && r.FdCls > 0 && !double.IsNaN(r.KidCls) && r.Precision >= 0 && r.Recall <= 1 &&
            r.Swd > 0 && r.ValidationLoss > 0, "evaluation");
      Throws(() => model.Evaluate("num_images: 10"), DiffuseException.InvalidConfig, "EvalConfig.", "bad EvalConfig");
    }
  }

  public static int Main() {
    Library.SetLogLevel(LogLevel.Warn);
    string dir = Path.Combine(Path.GetTempPath(), "diffuse-csharp-" + Guid.NewGuid().ToString("N"));
    Directory.CreateDirectory(dir);
    try {
      ErrorsCarryStatusAndMessage();
      TrainSampleAndPostHocEma(Path.Combine(dir, "run"));
      TheRestOfTheLibrary(dir);
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
