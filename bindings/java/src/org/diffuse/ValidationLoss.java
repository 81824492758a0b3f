package org.diffuse;

/** The validation loss at DIFFUSE_VALIDATION_SIGMAS fixed noise levels ({@link Model#validationLoss}). */
public final class ValidationLoss {
  public final double[] sigmas;
  public final double[] losses;
  public final double mean;

  ValidationLoss(double[] sigmas, double[] losses, double mean) {
    this.sigmas = sigmas;
    this.losses = losses;
    this.mean = mean;
  }
}
