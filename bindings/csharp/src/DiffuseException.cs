using System;
using Diffuse.Native;

namespace Diffuse {

/// <summary>A call into libdiffuse failed: the C API's status code and the library's message.</summary>
public class DiffuseException : Exception {
  public const int InvalidArgument = (int)diffuse_status.DIFFUSE_E_INVALID_ARGUMENT;
  public const int InvalidConfig = (int)diffuse_status.DIFFUSE_E_INVALID_CONFIG;
  public const int IO = (int)diffuse_status.DIFFUSE_E_IO;
  public const int CorruptFile = (int)diffuse_status.DIFFUSE_E_CORRUPT_FILE;
  public const int NotFound = (int)diffuse_status.DIFFUSE_E_NOT_FOUND;
  public const int Busy = (int)diffuse_status.DIFFUSE_E_BUSY;

  /// <summary>The diffuse_status code (the constants of this class, capi/diffuse.h).</summary>
  public int Status { get; }

  /// <summary>Short English name of the status ("invalid config").</summary>
  public string StatusName { get; }

  public DiffuseException(int status, string statusName, string message) : base(statusName + ": " + message) {
    Status = status;
    StatusName = statusName;
  }
}

}
