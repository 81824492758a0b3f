using System.Collections.Generic;
using System.Text;

namespace Diffuse {

/// <summary>
/// The EDM sampler: a SamplerConfig (empty: 32 Heun steps, sigma 0.002..80, rho 7) and an optional
/// guide network, D = D_guide + w (D_model - D_guide). Image i depends only on seeds[i] and labels[i].
/// Holds no native memory; any number of threads may sample with one Sampler.
/// </summary>
public sealed class Sampler {
  private readonly byte[] config;
  private readonly Format format;
  private readonly Model guide;

  /// <summary>A text-format SamplerConfig, e.g. "num_steps: 16" ("": the defaults).</summary>
  public Sampler(string config = "") : this(Encoding.UTF8.GetBytes(config), Format.Text, null) {}

  public Sampler(byte[] config, Format format) : this(config, format, null) {}

  private Sampler(byte[] config, Format format, Model guide) {
    this.config = (byte[])config.Clone();
    this.format = format;
    this.guide = guide;
  }

  /// <summary>The same sampler guided by guide.</summary>
  public Sampler WithGuide(Model guide) => new Sampler(config, format, guide);

  /// <summary>One image per seed; labels null (unconditional) or one class per seed (-1: none).
  /// Returns count x channels x resolution x resolution bytes, each image in C, H, W order.</summary>
  public byte[] Sample(Model model, IList<long> seeds, IList<long> labels = null) {
    var m = model.Handle;
    var g = guide?.Handle;
    using (var c = Calls.Bytes(config))
    using (var s = Calls.Int64s(seeds))
    using (var l = Calls.Int64s(labels)) {
      return Calls.ToArray(Calls.Call(status => m.sample(g, c, (int)format, s, l, status)));
    }
  }

  /// <summary>Sample, then one PNG grid of columns columns (0: square) at path.</summary>
  public void SampleGrid(Model model, IList<long> seeds, IList<long> labels, int columns, string path) {
    var m = model.Handle;
    var g = guide?.Handle;
    using (var c = Calls.Bytes(config))
    using (var s = Calls.Int64s(seeds))
    using (var l = Calls.Int64s(labels)) {
      Calls.Run(status => m.sample_png_grid(g, c, (int)format, s, l, columns, path, status));
    }
  }
}

}
