using System;
using System.Text;

namespace Diffuse {

/// <summary>
/// A network ready for sampling: a run's checkpoint, an EMA snapshot, a post-hoc EMA output or any
/// safetensors file with EDM2 names. Several threads may sample from one model at once; Save and
/// Dispose need exclusive use.
/// </summary>
public sealed class Model : IDisposable {
  private Native.Model handle;

  private Model(Native.Model handle) {
    this.handle = handle;
  }

  /// <summary>Opens a model file on device ("cpu", "cuda", "cuda:N") with an optional ModelConfig
  /// (null: the file's own).</summary>
  public static Model Open(string path, string device = "cpu", byte[] config = null, Format format = Format.Binary) {
    var handle = new Native.Model();
    try {
      Calls.Run(status => handle.open(path, device ?? "", config, (int)format, status));
    } catch {
      handle.Dispose();
      throw;
    }
    return new Model(handle);
  }

  internal Native.Model Handle {
    get {
      var h = handle;
      if (h == null) throw new ObjectDisposedException(nameof(Model));
      return h;
    }
  }

  /// <summary>Writes the network and its config to path (fp16 or fp32), atomically.</summary>
  public void Save(string path, bool fp16) {
    var h = Handle;
    Calls.Run(status => h.save(path, fp16, status));
  }

  /// <summary>The resolved ModelConfig in format.</summary>
  public byte[] Config(Format format) {
    var h = Handle;
    return Calls.Call(status => h.config((int)format, status));
  }

  /// <summary>The resolved ModelConfig in text format.</summary>
  public string ConfigText => Encoding.UTF8.GetString(Config(Format.Text));

  public long NumParameters {
    get {
      var h = Handle;
      return Calls.Call(status => h.num_parameters(status));
    }
  }

  /// <summary>Image geometry: channels, resolution (square) and number of classes (0: none).</summary>
  public ModelShape Shape {
    get {
      var h = Handle;
      using (var s = Calls.Call(status => h.shape(status))) return new ModelShape(s.channels, s.resolution, s.label_dim);
    }
  }

  /// <summary>Validation loss on held-out images at the fixed noise levels a run writes to
  /// stats.jsonl, with noise fixed by seed (the same seed compares models).</summary>
  public ValidationLoss ValidationLoss(Images images, ulong seed = 0) {
    if (images == null) throw new ArgumentNullException(nameof(images));
    var h = Handle;
    using (var native = images.ToNative())
    using (var v = Calls.Call(status => Native.DiffuseNative.validation_loss(h, native, (long)seed, status))) {
      return new ValidationLoss(v.sigmas(), v.losses(), v.mean());
    }
  }

  /// <summary>Samples EvalConfig.num_images images and measures them against the EvalConfig's real
  /// images (text format, e.g. "data { path: ... }").</summary>
  public EvalResult Evaluate(string config) => Evaluate(Encoding.UTF8.GetBytes(config), Format.Text);

  /// <summary>Evaluate for an EvalConfig in any format.</summary>
  public EvalResult Evaluate(byte[] config, Format format) {
    var h = Handle;
    using (var r = Calls.Call(status => Native.DiffuseNative.evaluate(h, config, (int)format, status))) {
      return new EvalResult(r);
    }
  }

  public void Dispose() {
    lock (this) {
      handle?.Dispose();
      handle = null;
    }
  }
}

}
