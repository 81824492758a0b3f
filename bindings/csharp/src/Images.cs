using System.Collections.Generic;

namespace Diffuse {

/// <summary>
/// Images handed in by the host: Count images of Height x Width x Channels bytes each, row-major HWC
/// (channels innermost, as PNG decoders produce), and optionally one class label per image. The
/// library copies what it needs before the call that takes them returns.
/// </summary>
public sealed class Images {
  public byte[] Pixels { get; }
  public long[] Labels { get; }
  public int Height { get; }
  public int Width { get; }
  public int Channels { get; }

  public Images(byte[] pixels, int height, int width, int channels, IList<long> labels = null) {
    Pixels = pixels;
    Height = height;
    Width = width;
    Channels = channels;
    Labels = Calls.Int64s(labels);
  }

  public long Count => Height * Width * Channels == 0 ? 0 : Pixels.LongLength / ((long)Height * Width * Channels);

  internal Native.Images ToNative() {
    var images = new Native.Images();
    images.set_pixels(Pixels, Height, Width, Channels);
    if (Labels != null) images.set_labels(Labels);
    return images;
  }
}

}
