package org.diffuse;

/** How alike two models' images are from the same seeds and noise ({@link Sampler#consistency}). */
public final class Consistency {
  /** mean((a - b)^2) / var(a and b): 0 = identical, about 2 for independent sets. */
  public final double relativeMsd;
  /** Mean cosine similarity of the image pairs. */
  public final double cosine;

  Consistency(double relativeMsd, double cosine) {
    this.relativeMsd = relativeMsd;
    this.cosine = cosine;
  }
}
