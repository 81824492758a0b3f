package org.diffuse;

import org.diffuse.swig.DiffuseNative;

/** Post-hoc EMA: reconstructs EMA profiles from the ema-* snapshots of a run directory. */
public final class PostHocEma {
  private PostHocEma() {}

  /**
   * Writes {@code outDir/phema-<sigma_rel>-<kimg>.safetensors} for each sigma_rel at the latest
   * snapshot time and returns the relative L2 residual of each fit. Fails with INVALID_ARGUMENT when a
   * residual exceeds 0.05.
   */
  public static double[] reconstruct(String runDir, double[] sigmaRels, String outDir) {
    return reconstruct(runDir, sigmaRels, -1, 0, false, outDir, false);
  }

  /**
   * Full form: {@code nimg} -1 = the latest snapshot time; {@code maxResidual} <= 0 = 0.05;
   * {@code force} writes even poorly fitted profiles.
   */
  public static double[] reconstruct(String runDir, double[] sigmaRels, long nimg, double maxResidual, boolean force,
                                     String outDir, boolean fp16) {
    return Calls.call(status ->
        DiffuseNative.phema_reconstruct(runDir, sigmaRels, nimg, maxResidual, force, outDir, fp16, status));
  }
}
