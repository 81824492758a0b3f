using System;
using System.Text;

namespace Diffuse {

/// <summary>
/// A training run, created from a TrainConfig (text, JSON or binary protobuf) or resumed from a run
/// directory; trains a batch of steps per Run call. Dispose releases it (no checkpoint is written).
/// Threads: one call at a time; Status and RequestStop may come from other threads during Run (a
/// concurrent Run throws with status Busy).
/// </summary>
public sealed class Trainer : IDisposable {
  private Native.Trainer handle;

  private Trainer(Native.Trainer handle) {
    this.handle = handle;
  }

  /// <summary>Starts a new run from a TrainConfig in text (default) or JSON format.</summary>
  public static Trainer Create(string config, Format format = Format.Text) {
    return Create(Encoding.UTF8.GetBytes(config), format);
  }

  /// <summary>Starts a new run from a TrainConfig in any format.</summary>
  public static Trainer Create(byte[] config, Format format) {
    var handle = new Native.Trainer();
    try {
      Calls.Run(status => handle.create(config, (int)format, status));
    } catch {
      handle.Dispose();
      throw;
    }
    return new Trainer(handle);
  }

  /// <summary>Continues the run in runDir exactly where its newest checkpoint left it.</summary>
  /// <summary>Starts a new run whose TrainConfig reads MEMORY data from train (and validation, when
  /// its validation data is MEMORY too; null otherwise).</summary>
  public static Trainer Create(string config, Images train, Images validation = null, Format format = Format.Text) {
    return Create(Encoding.UTF8.GetBytes(config), format, train, validation);
  }

  /// <summary>Create with host images, for a TrainConfig in any format.</summary>
  public static Trainer Create(byte[] config, Format format, Images train, Images validation = null) {
    if (train == null) throw new ArgumentNullException(nameof(train));
    var handle = new Native.Trainer();
    try {
      using (var t = train.ToNative())
      using (var v = validation?.ToNative()) {
        Calls.Run(status => handle.create_with_images(config, (int)format, t, v, status));
      }
    } catch {
      handle.Dispose();
      throw;
    }
    return new Trainer(handle);
  }

  /// <summary>Continues a MEMORY-data run: the same images handed in again.</summary>
  public static Trainer Resume(string runDir, Images train, Images validation = null) {
    if (train == null) throw new ArgumentNullException(nameof(train));
    var handle = new Native.Trainer();
    try {
      using (var t = train.ToNative())
      using (var v = validation?.ToNative()) {
        Calls.Run(status => handle.resume_with_images(runDir, t, v, status));
      }
    } catch {
      handle.Dispose();
      throw;
    }
    return new Trainer(handle);
  }

  public static Trainer Resume(string runDir) {
    var handle = new Native.Trainer();
    try {
      Calls.Run(status => handle.resume(runDir, status));
    } catch {
      handle.Dispose();
      throw;
    }
    return new Trainer(handle);
  }

  private Native.Trainer Handle {
    get {
      var h = handle;
      if (h == null) throw new ObjectDisposedException(nameof(Trainer));
      return h;
    }
  }

  /// <summary>Trains up to maxSteps optimizer steps; returns the number taken (fewer once done).</summary>
  public long Run(long maxSteps) {
    var h = Handle;
    return Calls.Call(status => h.run(maxSteps, status));
  }

  /// <summary>Progress as of the last completed step.</summary>
  public TrainStatus Status {
    get {
      var h = Handle;
      using (var s = Calls.Call(status => h.progress(status))) return new TrainStatus(s);
    }
  }

  /// <summary>Makes the current (or next) Run write a checkpoint and return after its step.</summary>
  /// <summary>The progress as a TrainStatus message (schemas/diffuse/v1/diffuse.proto) in format,
  /// with the run directory.</summary>
  public byte[] StatusMessage(Format format) {
    var h = Handle;
    return Calls.Call(status => h.status_message((int)format, status));
  }

  /// <summary>StatusMessage in text format.</summary>
  public string StatusText => Encoding.UTF8.GetString(StatusMessage(Format.Text));

  public void RequestStop() {
    var h = Handle;
    Calls.Run(status => h.request_stop(status));
  }

  /// <summary>Writes a checkpoint into the run directory now.</summary>
  public void SaveCheckpoint() {
    var h = Handle;
    Calls.Run(status => h.save_checkpoint(status));
  }

  public void Dispose() {
    lock (this) {
      handle?.Dispose();
      handle = null;
    }
  }
}

}
