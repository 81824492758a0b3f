using System.Collections.Generic;
using Diffuse.Native;

namespace Diffuse {

/// <summary>Post-hoc EMA: reconstructs EMA profiles from the ema-* snapshots of a run directory.</summary>
public static class PostHocEma {
  /// <summary>
  /// Writes outDir/phema-&lt;sigma_rel&gt;-&lt;kimg&gt;.safetensors for each sigma_rel and returns the
  /// relative L2 residual of each fit. nimg -1: the latest snapshot time; maxResidual &lt;= 0: 0.05;
  /// force writes poorly fitted profiles too.
  /// </summary>
  public static double[] Reconstruct(string runDir, IList<double> sigmaRels, string outDir, long nimg = -1,
                                     double maxResidual = 0, bool force = false, bool fp16 = false) {
    var sigmas = sigmaRels as double[] ?? new List<double>(sigmaRels).ToArray();
    return Calls.Call(status => DiffuseNative.phema_reconstruct(runDir, sigmas, nimg, maxResidual, force, outDir, fp16, status));
  }
}

}
