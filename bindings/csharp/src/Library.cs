using System.Text;
using Diffuse.Native;

namespace Diffuse {

/// <summary>Process-wide functions of libdiffuse: versions, logging, threads, devices, configs.</summary>
public static class Library {
  /// <summary>Library version, "MAJOR.MINOR.PATCH".</summary>
  public static string Version => DiffuseNative.diffuse_version();

  /// <summary>ABI version of the loaded library (the SONAME suffix).</summary>
  public static int AbiVersion => DiffuseNative.diffuse_abi_version();

  public static void SetLogLevel(LogLevel level) {
    Check(DiffuseNative.diffuse_log_set_level((diffuse_log_level)level));
  }

  /// <summary>Number of CPU threads for tensor math, process-wide.</summary>
  public static void SetNumThreads(int threads) {
    Check(DiffuseNative.diffuse_set_num_threads(threads));
  }

  /// <summary>Whether "cpu", "cuda" or "cuda:N" can be used here.</summary>
  public static bool DeviceAvailable(string device) {
    return Calls.Call(status => DiffuseNative.device_available(device, status));
  }

  /// <summary>Parses, completes with every default and validates a TrainConfig.</summary>
  public static byte[] ResolveTrainConfig(byte[] config, Format format, Format output) {
    using (var bytes = Calls.Bytes(config)) {
      return Calls.ToArray(Calls.Call(status =>
          DiffuseNative.resolve_train_config(bytes, (int)format, (int)output, status)));
    }
  }

  /// <summary>ResolveTrainConfig for a text-format config, as text.</summary>
  public static string ResolveTrainConfig(string text) {
    return Encoding.UTF8.GetString(ResolveTrainConfig(Encoding.UTF8.GetBytes(text), Format.Text, Format.Text));
  }

  // For the raw functions that return a status: P/Invoke stays on the calling thread, so the message
  // of diffuse_last_error() is theirs.
  private static void Check(diffuse_status status) {
    if (status != diffuse_status.DIFFUSE_OK) {
      throw new DiffuseException((int)status, DiffuseNative.diffuse_status_string(status),
                                 DiffuseNative.diffuse_last_error());
    }
  }
}

}
