package org.diffuse;

import java.nio.charset.StandardCharsets;

/**
 * The EDM sampler with a SamplerConfig (defaults: 32 Heun steps, sigma 0.002..80, rho 7) and an
 * optional guide network. Image i depends only on seeds[i] and labels[i]. Holds no native resources;
 * any number of threads may sample with one Sampler.
 */
public final class Sampler {
  private final byte[] config;
  private final Format format;
  private final Model guide;

  /** The default SamplerConfig, no guide. */
  public Sampler() {
    this(new byte[0], Format.BINARY, null);
  }

  /** A text-format SamplerConfig, e.g. {@code "num_steps: 16 guidance: 1.5"}. */
  public Sampler(String config) {
    this(config.getBytes(StandardCharsets.UTF_8), Format.TEXT, null);
  }

  public Sampler(byte[] config, Format format) {
    this(config, format, null);
  }

  private Sampler(byte[] config, Format format, Model guide) {
    this.config = config.clone();
    this.format = format;
    this.guide = guide;
  }

  /** The same sampler guided by {@code guide}: D = D_guide + w (D_model - D_guide). */
  public Sampler withGuide(Model guide) {
    return new Sampler(config, format, guide);
  }

  /**
   * Generates one image per seed; {@code labels} is null (unconditional) or one class per seed (-1:
   * none). Returns count x channels x resolution x resolution bytes, each image in C, H, W order.
   */
  public byte[] sample(Model model, long[] seeds, long[] labels) {
    org.diffuse.swig.Model m = model.handle();
    org.diffuse.swig.Model g = guide == null ? null : guide.handle();
    return Calls.call(status -> m.sample(g, config, format.value, seeds, labels, status));
  }

  /** Like {@link #sample}, then writes the images as one PNG grid ({@code columns} 0: square). */
  public void sampleGrid(Model model, long[] seeds, long[] labels, int columns, String path) {
    org.diffuse.swig.Model m = model.handle();
    org.diffuse.swig.Model g = guide == null ? null : guide.handle();
    Calls.run(status -> m.sample_png_grid(g, config, format.value, seeds, labels, columns, path, status));
  }
}
