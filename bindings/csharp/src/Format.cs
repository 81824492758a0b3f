using Diffuse.Native;

namespace Diffuse {

/// <summary>Wire format of a config message (schemas/diffuse/v1/diffuse.proto).</summary>
public enum Format {
  /// <summary>Protocol Buffers binary encoding.</summary>
  Binary = diffuse_format.DIFFUSE_FORMAT_BINARY,
  /// <summary>Protocol Buffers text format.</summary>
  Text = diffuse_format.DIFFUSE_FORMAT_TEXT,
  /// <summary>The proto3 JSON mapping.</summary>
  Json = diffuse_format.DIFFUSE_FORMAT_JSON,
}

/// <summary>Threshold of the library's log messages on stderr.</summary>
public enum LogLevel {
  Trace = diffuse_log_level.DIFFUSE_LOG_TRACE,
  Debug = diffuse_log_level.DIFFUSE_LOG_DEBUG,
  Info = diffuse_log_level.DIFFUSE_LOG_INFO,
  Warn = diffuse_log_level.DIFFUSE_LOG_WARN,
  Error = diffuse_log_level.DIFFUSE_LOG_ERROR,
  Off = diffuse_log_level.DIFFUSE_LOG_OFF,
}

}
