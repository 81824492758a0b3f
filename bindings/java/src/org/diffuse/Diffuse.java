package org.diffuse;

import java.nio.charset.StandardCharsets;
import java.util.function.BiConsumer;
import org.diffuse.swig.DiffuseNative;
import org.diffuse.swig.LogMessage;
import org.diffuse.swig.LogQueue;
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

  /** Library version as MAJOR*10000 + MINOR*100 + PATCH, for comparisons. */
  public static int versionNumber() {
    return DiffuseNative.diffuse_version_number();
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

    static LogLevel of(int value) {
      for (LogLevel l : values()) {
        if (l.level.swigValue() == value) return l;
      }
      return INFO;
    }
  }

  /** Also writes every log message to {@code path} (appending); null or "" stops. */
  public static void logToFile(String path) {
    Calls.run(status -> DiffuseNative.log_to_file(path == null ? "" : path, status));
  }

  private static final Object logLock = new Object();
  private static LogQueue logQueue;
  private static Thread logThread;

  /**
   * Hands every log message at or above the log level to {@code callback} (null removes it),
   * replacing the previous one. The callback runs on one daemon thread of this library, in the order
   * the messages were logged, shortly after (the library thread that logs never waits for it); once
   * this method returns, the previous callback is not running and is not called again (unless this
   * is called from inside it). What it throws is printed to stderr.
   */
  public static void setLogCallback(BiConsumer<LogLevel, String> callback) {
    synchronized (logLock) {
      if (logQueue != null) {
        logQueue.stop();
        if (Thread.currentThread() != logThread) {
          boolean interrupted = false;
          while (true) {
            try {
              logThread.join();
              break;
            } catch (InterruptedException e) {
              interrupted = true;
            }
          }
          if (interrupted) Thread.currentThread().interrupt();
        }
        logQueue.delete();
        logQueue = null;
        logThread = null;
      }
      if (callback == null) return;
      LogQueue queue = new LogQueue();
      Calls.run(status -> queue.start(status));
      Thread thread = new Thread(() -> {
        LogMessage message = new LogMessage();
        try {
          while (queue.next(message)) {
            try {
              callback.accept(LogLevel.of(message.getLevel()), message.getText());
            } catch (RuntimeException e) {
              System.err.println("diffuse: the log callback threw: " + e);
            }
          }
        } finally {
          message.delete();
        }
      }, "diffuse log");
      thread.setDaemon(true);
      thread.start();
      logQueue = queue;
      logThread = thread;
    }
  }

  /** Where this process stands in a data-parallel launch. */
  public static final class WorldPosition {
    public final int rank;
    public final int worldSize;

    WorldPosition(int rank, int worldSize) {
      this.rank = rank;
      this.worldSize = worldSize;
    }
  }

  /**
   * Joins the data-parallel launch this process is a rank of (torchrun, Slurm, {@code diffuse
   * --nproc}) for sampling and evaluation; outside one, rank 0 of 1 (diffuse_world_join).
   */
  public static WorldPosition worldJoin() {
    org.diffuse.swig.WorldPosition p = Calls.call(status -> DiffuseNative.world_join(status));
    try {
      return new WorldPosition(p.getRank(), p.getWorld_size());
    } finally {
      p.delete();
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
