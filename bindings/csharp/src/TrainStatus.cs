using Diffuse.Native;

namespace Diffuse {

/// <summary>Progress of a training run as of its last completed step.</summary>
public sealed class TrainStatus {
  public long ImagesSeen { get; }
  public long ImagesTotal { get; }
  public long Steps { get; }
  /// <summary>Mean loss per element of the last step (NaN before the first).</summary>
  public double Loss { get; }
  public double LearningRate { get; }
  public double Beta1 { get; }
  public double ImagesPerSecond { get; }
  public double SecondsPerStep { get; }
  public double ElapsedSeconds { get; }
  public double EtaSeconds { get; }
  /// <summary>Last validation loss (NaN before the first).</summary>
  public double ValidationLoss { get; }
  public bool Done { get; }

  internal TrainStatus(diffuse_train_status s) {
    ImagesSeen = s.images_seen;
    ImagesTotal = s.images_total;
    Steps = s.steps;
    Loss = s.loss;
    LearningRate = s.learning_rate;
    Beta1 = s.beta1;
    ImagesPerSecond = s.images_per_second;
    SecondsPerStep = s.seconds_per_step;
    ElapsedSeconds = s.elapsed_seconds;
    EtaSeconds = s.eta_seconds;
    ValidationLoss = s.validation_loss;
    Done = s.done != 0;
  }

  public override string ToString() {
    return string.Format("{0}/{1} images, {2} steps, loss {3:F4}, {4:F0} img/s{5}", ImagesSeen, ImagesTotal, Steps,
                         Loss, ImagesPerSecond, Done ? ", done" : "");
  }
}

}
