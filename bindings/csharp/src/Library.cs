using System;
using System.Text;
using System.Threading;
using Diffuse.Native;

namespace Diffuse {

/// <summary>Process-wide functions of libdiffuse: versions, logging, threads, devices, configs.</summary>
public static class Library {
  /// <summary>Library version, "MAJOR.MINOR.PATCH".</summary>
  public static string Version => DiffuseNative.diffuse_version();

  /// <summary>ABI version of the loaded library (the SONAME suffix).</summary>
  public static int AbiVersion => DiffuseNative.diffuse_abi_version();

  /// <summary>Library version as MAJOR*10000 + MINOR*100 + PATCH, for comparisons.</summary>
  public static int VersionNumber => DiffuseNative.diffuse_version_number();

  /// <summary>Also writes every log message to path (appending); null or "" stops.</summary>
  public static void LogToFile(string path) {
    Calls.Run(status => DiffuseNative.log_to_file(path ?? "", status));
  }

  private static readonly object logLock = new object();
  private static LogQueue logQueue;
  private static Thread logThread;

  /// <summary>Hands every log message at or above the log level to callback (null removes it),
  /// replacing the previous one. The callback runs on one background thread of this library, in the
  /// order the messages were logged, shortly after (the library thread that logs never waits for it);
  /// once this method returns, the previous callback is not running and is not called again (unless
  /// this is called from inside it). An exception it throws is written to stderr.</summary>
  public static void SetLogCallback(Action<LogLevel, string> callback) {
    lock (logLock) {
      if (logQueue != null) {
        logQueue.stop();
        if (Thread.CurrentThread != logThread) logThread.Join();
        logQueue.Dispose();
        logQueue = null;
        logThread = null;
      }
      if (callback == null) return;
      var queue = new LogQueue();
      Calls.Run(status => queue.start(status));
      var thread = new Thread(() => {
        using (var message = new LogMessage()) {
          while (queue.next(message)) {
            try {
              callback((LogLevel)message.level, message.text);
            } catch (Exception e) {
              Console.Error.WriteLine("diffuse: the log callback threw: " + e);
            }
          }
        }
      });
      thread.IsBackground = true;
      thread.Name = "diffuse log";
      thread.Start();
      logQueue = queue;
      logThread = thread;
    }
  }

  /// <summary>Joins the data-parallel launch this process is a rank of (torchrun, Slurm, diffuse
  /// --nproc) for sampling and evaluation; outside one, rank 0 of 1. See diffuse_world_join.</summary>
  public static WorldPosition WorldJoin() {
    using (var p = Calls.Call(status => DiffuseNative.world_join(status))) return new WorldPosition(p.rank, p.world_size);
  }

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
    return Calls.Call(status => DiffuseNative.resolve_train_config(config, (int)format, (int)output, status));
  }

  /// <summary>ResolveTrainConfig for a text-format config, as text.</summary>
  public static string ResolveTrainConfig(string text) {
    return Encoding.UTF8.GetString(ResolveTrainConfig(Encoding.UTF8.GetBytes(text), Format.Text, Format.Text));
  }

  private static void Check(diffuse_status status) => Calls.Check(status);
}

/// <summary>Where this process stands in a data-parallel launch.</summary>
public struct WorldPosition {
  public int Rank { get; }
  public int WorldSize { get; }
  public WorldPosition(int rank, int worldSize) {
    Rank = rank;
    WorldSize = worldSize;
  }
}

}
