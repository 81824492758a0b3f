package org.diffuse;

import java.nio.charset.StandardCharsets;
import org.diffuse.swig.DiffuseNative;
import org.diffuse.swig.ModelShape;

/**
 * A network ready for sampling: a run's checkpoint, an EMA snapshot, a post-hoc EMA output or any
 * safetensors file with EDM2 names. Several threads may sample from one model at once; {@link #save}
 * and {@link #close} need exclusive use.
 */
public final class Model implements AutoCloseable {
  private volatile org.diffuse.swig.Model handle;

  private Model(org.diffuse.swig.Model handle) {
    this.handle = handle;
  }

  /** Opens a model file on the CPU with the config stored in the file. */
  public static Model open(String path) {
    return open(path, "cpu");
  }

  /** Opens a model file on {@code device} ("cpu", "cuda", "cuda:N") with the config stored in it. */
  public static Model open(String path, String device) {
    return open(path, device, (byte[]) null, Format.BINARY);
  }

  /** Opens a model file with an explicit ModelConfig (text or JSON), which takes precedence. */
  public static Model open(String path, String device, String config, Format format) {
    return open(path, device, config == null ? null : config.getBytes(StandardCharsets.UTF_8), format);
  }

  /** Opens a model file with an explicit ModelConfig in any format ({@code null}: the file's own). */
  public static Model open(String path, String device, byte[] config, Format format) {
    org.diffuse.swig.Model handle = new org.diffuse.swig.Model();
    try {
      Calls.run(status -> handle.open(path, device == null ? "" : device, config, format.value, status));
    } catch (RuntimeException e) {
      handle.delete();
      throw e;
    }
    return new Model(handle);
  }

  /** Writes the network and its config to {@code path} (fp16 or fp32), atomically. */
  public void save(String path, boolean fp16) {
    org.diffuse.swig.Model h = handle();
    Calls.run(status -> h.save(path, fp16, status));
  }

  /** The resolved ModelConfig in {@code format}. */
  public byte[] config(Format format) {
    org.diffuse.swig.Model h = handle();
    return Calls.call(status -> h.config(format.value, status));
  }

  /** The resolved ModelConfig in text format. */
  public String configText() {
    return new String(config(Format.TEXT), StandardCharsets.UTF_8);
  }

  public long numParameters() {
    org.diffuse.swig.Model h = handle();
    return Calls.call(status -> h.num_parameters(status));
  }

  /** Image channels. */
  public int channels() {
    return shape()[0];
  }

  /** Image side in pixels. */
  public int resolution() {
    return shape()[1];
  }

  /** Number of classes (0: unconditional). */
  public int labelDim() {
    return shape()[2];
  }

  private int[] shape() {
    org.diffuse.swig.Model h = handle();
    ModelShape s = Calls.call(status -> h.shape(status));
    try {
      return new int[] {s.getChannels(), s.getResolution(), s.getLabel_dim()};
    } finally {
      s.delete();
    }
  }

  /**
   * Validation loss on held-out images at the fixed noise levels a run writes to stats.jsonl, with
   * noise fixed by {@code seed} (the same seed compares models).
   */
  public ValidationLoss validationLoss(Images images, long seed) {
    org.diffuse.swig.Model h = handle();
    org.diffuse.swig.Images native_ = images.toNative();
    try {
      org.diffuse.swig.ValidationLoss v = Calls.call(status -> DiffuseNative.validation_loss(h, native_, seed, status));
      try {
        return new ValidationLoss(v.sigmas(), v.losses(), v.mean());
      } finally {
        v.delete();
      }
    } finally {
      native_.delete();
    }
  }

  /** Samples EvalConfig.num_images images and measures them against a text-format EvalConfig's real images. */
  public EvalResult evaluate(String config) {
    return evaluate(config.getBytes(StandardCharsets.UTF_8), Format.TEXT);
  }

  /** {@link #evaluate(String)} for an EvalConfig in any format. */
  public EvalResult evaluate(byte[] config, Format format) {
    org.diffuse.swig.Model h = handle();
    org.diffuse.swig.EvalResult r = Calls.call(status -> DiffuseNative.evaluate(h, config, format.value, status));
    try {
      return new EvalResult(r);
    } finally {
      r.delete();
    }
  }

  /** Releases the model; closing twice is allowed. */
  @Override
  public synchronized void close() {
    if (handle != null) {
      handle.delete();
      handle = null;
    }
  }

  org.diffuse.swig.Model handle() {
    return Calls.requireOpen(handle);
  }
}
