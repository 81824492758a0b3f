package org.diffuse;

import org.diffuse.swig.diffuse_train_status;

/** Progress of a training run as of its last completed step (diffuse_train_status). */
public final class TrainStatus {
  public final long imagesSeen;
  public final long imagesTotal;
  public final long steps;
  /** Mean loss per element of the last step (NaN before the first). */
  public final double loss;
  public final double learningRate;
  public final double beta1;
  public final double imagesPerSecond;
  public final double secondsPerStep;
  public final double elapsedSeconds;
  public final double etaSeconds;
  /** Last validation loss (NaN before the first). */
  public final double validationLoss;
  /** Whether the run has trained on all its images. */
  public final boolean done;

  TrainStatus(diffuse_train_status s) {
    imagesSeen = s.getImages_seen();
    imagesTotal = s.getImages_total();
    steps = s.getSteps();
    loss = s.getLoss();
    learningRate = s.getLearning_rate();
    beta1 = s.getBeta1();
    imagesPerSecond = s.getImages_per_second();
    secondsPerStep = s.getSeconds_per_step();
    elapsedSeconds = s.getElapsed_seconds();
    etaSeconds = s.getEta_seconds();
    validationLoss = s.getValidation_loss();
    done = s.getDone() != 0;
  }

  @Override
  public String toString() {
    return String.format("%d/%d images, %d steps, loss %.4f, lr %.3g, %.0f img/s%s", imagesSeen, imagesTotal, steps,
        loss, learningRate, imagesPerSecond, done ? ", done" : "");
  }
}
