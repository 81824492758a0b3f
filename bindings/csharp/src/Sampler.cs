using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace Diffuse {

/// <summary>
/// The EDM sampler of one model: a SamplerConfig (empty: 32 Heun steps, sigma 0.002..80, rho 7)
/// parsed and checked once, and an optional guide network, D = D_guide + w (D_model - D_guide). Image
/// i depends only on seeds[i] and labels[i]. Holds a native sampler (Dispose it); it keeps its models
/// referenced, and they must not be disposed before it. Any number of threads may sample with one
/// Sampler.
/// </summary>
public sealed class Sampler : IDisposable {
  private Native.Sampler handle;

  /// <summary>The model this sampler samples from.</summary>
  public Model Model { get; }

  /// <summary>The guide, or null.</summary>
  public Model Guide { get; }

  private Sampler(Native.Sampler handle, Model model, Model guide) {
    this.handle = handle;
    Model = model;
    Guide = guide;
  }

  /// <summary>A text-format SamplerConfig, e.g. "num_steps: 16" ("": the defaults), guided by guide
  /// (null: none).</summary>
  public static Sampler Create(Model model, string config = "", Model guide = null) =>
      Create(model, Encoding.UTF8.GetBytes(config ?? ""), Format.Text, guide);

  /// <summary>A SamplerConfig in any format, guided by guide (null: none).</summary>
  public static Sampler Create(Model model, byte[] config, Format format, Model guide = null) {
    var m = model.Handle;
    var g = guide?.Handle;
    var handle = new Native.Sampler();
    try {
      Calls.Run(status => handle.create(m, g, config, (int)format, status));
    } catch {
      handle.Dispose();
      throw;
    }
    return new Sampler(handle, model, guide);
  }

  private Native.Sampler Handle {
    get {
      var h = handle;
      if (h == null) throw new ObjectDisposedException(nameof(Sampler));
      return h;
    }
  }

  /// <summary>One image per seed; labels null (unconditional) or one class per seed (-1: none).
  /// Returns count x channels x resolution x resolution bytes, each image in C, H, W order.</summary>
  public byte[] Sample(IList<long> seeds, IList<long> labels = null) {
    var h = Handle;
    return Calls.Call(status => h.run(Calls.Int64s(seeds), Calls.Int64s(labels), status));
  }

  /// <summary>Sample, the values before quantisation (about [-1, 1]).</summary>
  public float[] SampleFloat(IList<long> seeds, IList<long> labels = null) {
    var h = Handle;
    return Calls.Call(status => h.run_float(Calls.Int64s(seeds), Calls.Int64s(labels), status));
  }

  /// <summary>Sample, then one PNG grid of columns columns (0: square) at path.</summary>
  public void SampleGrid(IList<long> seeds, IList<long> labels, int columns, string path) {
    var h = Handle;
    Calls.Run(status => h.write_png_grid(Calls.Int64s(seeds), Calls.Int64s(labels), columns, path, status));
  }

  /// <summary>Sample into the caller's array (no allocation per call): destination must hold
  /// count x channels x resolution x resolution bytes.</summary>
  public void SampleInto(IList<long> seeds, IList<long> labels, byte[] destination) =>
      SampleInto(seeds, labels, destination, Native.diffuse_pixel_type.DIFFUSE_PIXELS_UINT8, sizeof(byte));

  /// <summary>SampleFloat into the caller's array.</summary>
  public void SampleInto(IList<long> seeds, IList<long> labels, float[] destination) =>
      SampleInto(seeds, labels, destination, Native.diffuse_pixel_type.DIFFUSE_PIXELS_FLOAT32, sizeof(float));

  private void SampleInto(IList<long> seeds, IList<long> labels, Array destination, Native.diffuse_pixel_type type,
                          int valueSize) {
    if (destination == null) throw new ArgumentNullException(nameof(destination));
    var h = Handle;
    var pin = GCHandle.Alloc(destination, GCHandleType.Pinned);
    try {
      Calls.Run(status => h.run_into(Calls.Int64s(seeds), Calls.Int64s(labels), (int)type, pin.AddrOfPinnedObject(),
                                     (ulong)destination.LongLength * (ulong)valueSize, status));
    } finally {
      pin.Free();
    }
  }

  /// <summary>How alike other's images are to this sampler's model's from the same seeds and noise
  /// (this sampler's config; no guide).</summary>
  public Consistency Consistency(Model other, IList<long> seeds, IList<long> labels = null) {
    if (other == null) throw new ArgumentNullException(nameof(other));
    var h = Handle;
    var o = other.Handle;
    double[] values = Calls.Call(status => h.consistency(o, Calls.Int64s(seeds), Calls.Int64s(labels), status));
    return new Consistency(values[0], values[1]);
  }

  /// <summary>Releases the sampler; its models stay open.</summary>
  public void Dispose() {
    lock (this) {
      handle?.Dispose();
      handle = null;
    }
  }
}

}
