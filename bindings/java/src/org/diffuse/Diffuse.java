package org.diffuse;

import java.nio.charset.StandardCharsets;
import org.diffuse.swig.DiffuseNative;
import org.diffuse.swig.diffuse_log_level;

/** Process-wide functions of libdiffuse: versions, logging, threads, devices, config checks. */
public final class Diffuse {
  private Diffuse() {}

  /** Library version as "MAJOR.MINOR.PATCH". */
  public static String version() {
    return DiffuseNative.diffuse_version();
  }

  /** ABI version of the loaded library (the SONAME suffix of libdiffuse.so). */
  public static int abiVersion() {
    return DiffuseNative.diffuse_abi_version();
  }

  /** Log threshold of the library's messages on stderr. */
  public enum LogLevel {
    TRACE(diffuse_log_level.DIFFUSE_LOG_TRACE),
    DEBUG(diffuse_log_level.DIFFUSE_LOG_DEBUG),
    INFO(diffuse_log_level.DIFFUSE_LOG_INFO),
    WARN(diffuse_log_level.DIFFUSE_LOG_WARN),
    ERROR(diffuse_log_level.DIFFUSE_LOG_ERROR),
    OFF(diffuse_log_level.DIFFUSE_LOG_OFF);

    final diffuse_log_level level;

    LogLevel(diffuse_log_level level) {
      this.level = level;
    }
  }

  public static void setLogLevel(LogLevel level) {
    check(DiffuseNative.diffuse_log_set_level(level.level).swigValue());
  }

  /** Number of CPU threads for tensor math, process-wide. */
  public static void setNumThreads(int threads) {
    check(DiffuseNative.diffuse_set_num_threads(threads).swigValue());
  }

  /** Whether "cpu", "cuda" or "cuda:N" can be used here. */
  public static boolean deviceAvailable(String device) {
    return Calls.call(status -> org.diffuse.swig.DiffuseNative.device_available(device, status));
  }

  /** Parses, completes with every default and validates a TrainConfig; returns it in {@code out}. */
  public static byte[] resolveTrainConfig(byte[] config, Format format, Format out) {
    return Calls.call(status -> DiffuseNative.resolve_train_config(config, format.value, out.value, status));
  }

  /** {@link #resolveTrainConfig(byte[], Format, Format)} for a text-format config, as text. */
  public static String resolveTrainConfig(String text) {
    byte[] resolved = resolveTrainConfig(text.getBytes(StandardCharsets.UTF_8), Format.TEXT, Format.TEXT);
    return new String(resolved, StandardCharsets.UTF_8);
  }

  // For the raw functions that return a status: called on the same thread, so the message is theirs.
  private static void check(int status) {
    if (status != 0) {
      throw new DiffuseException(status, DiffuseNative.diffuse_status_string(
          org.diffuse.swig.diffuse_status.swigToEnum(status)), DiffuseNative.diffuse_last_error());
    }
  }
}
