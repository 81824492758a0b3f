package org.diffuse;

/**
 * Images handed in by the host: {@code count} images of height x width x channels bytes each,
 * row-major HWC (channels innermost, as PNG decoders produce), and optionally one class label per
 * image. They cross into the library with one bulk copy; the library copies what it needs before the
 * call that takes them returns.
 */
public final class Images {
  final byte[] pixels;
  final long[] labels;
  public final int height;
  public final int width;
  public final int channels;

  /** Unlabeled images. */
  public Images(byte[] pixels, int height, int width, int channels) {
    this(pixels, height, width, channels, null);
  }

  /** Labeled images ({@code labels}: one class per image, or null). */
  public Images(byte[] pixels, int height, int width, int channels, long[] labels) {
    if (pixels == null) throw new IllegalArgumentException("pixels is null");
    this.pixels = pixels;
    this.height = height;
    this.width = width;
    this.channels = channels;
    this.labels = labels;
  }

  /** Number of whole images the pixels hold. */
  public long count() {
    long perImage = (long) height * width * channels;
    return perImage <= 0 ? 0 : pixels.length / perImage;
  }

  org.diffuse.swig.Images toNative() {
    org.diffuse.swig.Images images = new org.diffuse.swig.Images();
    images.set_pixels(pixels, height, width, channels);
    if (labels != null) images.set_labels(labels);
    return images;
  }

  static void delete(org.diffuse.swig.Images images) {
    if (images != null) images.delete();
  }
}
