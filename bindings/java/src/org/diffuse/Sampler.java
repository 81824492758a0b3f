package org.diffuse;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.diffuse.swig.diffuse_pixel_type;

/**
 * The EDM sampler of one model: a SamplerConfig (empty: 32 Heun steps, sigma 0.002..80, rho 7)
 * parsed and checked once, and an optional guide network, D = D_guide + w (D_model - D_guide). Image
 * i depends only on seeds[i] and labels[i]. Holds a native sampler (close it, or use
 * try-with-resources); it keeps its models referenced, and they must not be closed before it. Any
 * number of threads may sample with one Sampler.
 */
public final class Sampler implements AutoCloseable {
  private volatile org.diffuse.swig.Sampler handle;
  private final Model model;
  private final Model guide;

  private Sampler(org.diffuse.swig.Sampler handle, Model model, Model guide) {
    this.handle = handle;
    this.model = model;
    this.guide = guide;
  }

  /** The default SamplerConfig, no guide. */
  public static Sampler create(Model model) {
    return create(model, null, new byte[0], Format.BINARY);
  }

  /** A text-format SamplerConfig, e.g. {@code "num_steps: 16"}, no guide. */
  public static Sampler create(Model model, String config) {
    return create(model, null, config);
  }

  /** A text-format SamplerConfig guided by {@code guide} (null: none). */
  public static Sampler create(Model model, Model guide, String config) {
    return create(model, guide, config.getBytes(StandardCharsets.UTF_8), Format.TEXT);
  }

  /** A SamplerConfig in any format, guided by {@code guide} (null: none). */
  public static Sampler create(Model model, Model guide, byte[] config, Format format) {
    org.diffuse.swig.Sampler handle = new org.diffuse.swig.Sampler();
    org.diffuse.swig.Model m = model.handle();
    org.diffuse.swig.Model g = guide == null ? null : guide.handle();
    try {
      Calls.run(status -> handle.create(m, g, config, format.value, status));
    } catch (RuntimeException e) {
      handle.delete();
      throw e;
    }
    return new Sampler(handle, model, guide);
  }

  /**
   * Generates one image per seed; {@code labels} is null (unconditional) or one class per seed (-1:
   * none). Returns count x channels x resolution x resolution bytes, each image in C, H, W order.
   */
  public byte[] sample(long[] seeds, long[] labels) {
    org.diffuse.swig.Sampler h = handle();
    return Calls.call(status -> h.run(seeds, labels, status));
  }

  /** Like {@link #sample}, the values before quantisation (about [-1, 1]). */
  public float[] sampleFloat(long[] seeds, long[] labels) {
    org.diffuse.swig.Sampler h = handle();
    return Calls.call(status -> h.run_float(seeds, labels, status));
  }

  /** Like {@link #sample}, then writes the images as one PNG grid ({@code columns} 0: square). */
  public void sampleGrid(long[] seeds, long[] labels, int columns, String path) {
    org.diffuse.swig.Sampler h = handle();
    Calls.run(status -> h.write_png_grid(seeds, labels, columns, path, status));
  }

  /**
   * Like {@link #sample} (or {@link #sampleFloat} for {@code floats}), written into a direct buffer
   * from its position without allocating (count x channels x resolution x resolution values, floats
   * in native byte order); the position does not move.
   */
  public void sampleInto(long[] seeds, long[] labels, boolean floats, ByteBuffer destination) {
    if (destination == null || !destination.isDirect()) {
      throw new IllegalArgumentException("the destination must be a direct ByteBuffer (ByteBuffer.allocateDirect)");
    }
    org.diffuse.swig.Sampler h = handle();
    int type = floats ? diffuse_pixel_type.DIFFUSE_PIXELS_FLOAT32.swigValue()
                      : diffuse_pixel_type.DIFFUSE_PIXELS_UINT8.swigValue();
    ByteBuffer window = destination.slice();
    Calls.run(status -> h.run_into(seeds, labels, type, window, status));
  }

  /**
   * How alike {@code other}'s images are to this sampler's model's from the same seeds and noise
   * (this sampler's config; it must have no guide).
   */
  public Consistency consistency(Model other, long[] seeds, long[] labels) {
    org.diffuse.swig.Sampler h = handle();
    org.diffuse.swig.Model o = other.handle();
    double[] values = Calls.call(status -> h.consistency(o, seeds, labels, status));
    return new Consistency(values[0], values[1]);
  }

  /** The model this sampler samples from. */
  public Model model() {
    return model;
  }

  /** The guide, or null. */
  public Model guide() {
    return guide;
  }

  /** Releases the sampler (its models stay open); closing twice is allowed. */
  @Override
  public synchronized void close() {
    if (handle != null) {
      handle.delete();
      handle = null;
    }
  }

  org.diffuse.swig.Sampler handle() {
    return Calls.requireOpen(handle);
  }
}
