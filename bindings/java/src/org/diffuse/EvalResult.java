package org.diffuse;

/**
 * Sample quality of a model ({@link Model#evaluate}): FD_cls, KID_cls and precision/recall in the
 * features of a classifier trained on the dataset, SWD of 7x7 patches (x1000), and the validation
 * loss on the real images.
 */
public final class EvalResult {
  public final long numImages;
  public final double fdCls;
  public final double kidCls;
  public final double precision;
  public final double recall;
  public final double swd;
  public final double validationLoss;

  EvalResult(org.diffuse.swig.EvalResult r) {
    numImages = r.getNum_images();
    fdCls = r.getFd_cls();
    kidCls = r.getKid_cls();
    precision = r.getPrecision();
    recall = r.getRecall();
    swd = r.getSwd();
    validationLoss = r.getValidation_loss();
  }

  @Override
  public String toString() {
    return String.format("FD_cls %.4g  KID_cls %.4g  precision %.3f  recall %.3f  SWD %.4g  validation %.4g (%d images)",
                         fdCls, kidCls, precision, recall, swd, validationLoss, numImages);
  }
}
