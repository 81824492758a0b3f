namespace Diffuse {

/// <summary>Image geometry of a model.</summary>
public struct ModelShape {
  public int Channels { get; }
  public int Resolution { get; }
  /// <summary>Number of classes; 0: unconditional.</summary>
  public int LabelDim { get; }

  public ModelShape(int channels, int resolution, int labelDim) {
    Channels = channels;
    Resolution = resolution;
    LabelDim = labelDim;
  }
}

}
