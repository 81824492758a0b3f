namespace Diffuse {

/// <summary>The validation loss at DIFFUSE_VALIDATION_SIGMAS fixed noise levels (Model.ValidationLoss).</summary>
public sealed class ValidationLoss {
  public double[] Sigmas { get; }
  public double[] Losses { get; }
  public double Mean { get; }

  internal ValidationLoss(double[] sigmas, double[] losses, double mean) {
    Sigmas = sigmas;
    Losses = losses;
    Mean = mean;
  }
}

/// <summary>Sample quality of a model (Model.Evaluate): FD_cls, KID_cls, precision/recall in the
/// features of a classifier trained on the dataset, SWD of 7x7 patches x1000, and the validation
/// loss on the real images.</summary>
public sealed class EvalResult {
  public long NumImages { get; }
  public double FdCls { get; }
  public double KidCls { get; }
  public double Precision { get; }
  public double Recall { get; }
  public double Swd { get; }
  public double ValidationLoss { get; }

  internal EvalResult(Native.EvalResult r) {
    NumImages = r.num_images;
    FdCls = r.fd_cls;
    KidCls = r.kid_cls;
    Precision = r.precision;
    Recall = r.recall;
    Swd = r.swd;
    ValidationLoss = r.validation_loss;
  }
}

/// <summary>How alike two models' images are from the same seeds (Sampler.Consistency).</summary>
public struct Consistency {
  /// <summary>mean((a - b)^2) / var(a and b): 0 = identical, about 2 for independent sets.</summary>
  public double RelativeMsd { get; }
  /// <summary>Mean cosine similarity of the image pairs.</summary>
  public double Cosine { get; }

  public Consistency(double relativeMsd, double cosine) {
    RelativeMsd = relativeMsd;
    Cosine = cosine;
  }
}

}
