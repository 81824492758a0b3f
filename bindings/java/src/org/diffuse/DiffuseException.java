package org.diffuse;

import org.diffuse.swig.diffuse_status;

/** A call into libdiffuse failed: the C API's status code and the library's message for it. */
public class DiffuseException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public static final int INVALID_ARGUMENT = diffuse_status.DIFFUSE_E_INVALID_ARGUMENT.swigValue();
  public static final int INVALID_CONFIG = diffuse_status.DIFFUSE_E_INVALID_CONFIG.swigValue();
  public static final int IO = diffuse_status.DIFFUSE_E_IO.swigValue();
  public static final int CORRUPT_FILE = diffuse_status.DIFFUSE_E_CORRUPT_FILE.swigValue();
  public static final int NOT_FOUND = diffuse_status.DIFFUSE_E_NOT_FOUND.swigValue();
  public static final int BUSY = diffuse_status.DIFFUSE_E_BUSY.swigValue();

  private final int status;
  private final String statusName;

  public DiffuseException(int status, String statusName, String message) {
    super(statusName + ": " + message);
    this.status = status;
    this.statusName = statusName;
  }

  /** The diffuse_status code (see the constants of this class and capi/diffuse.h). */
  public int getStatus() {
    return status;
  }

  /** Short English name of the status ("invalid config"). */
  public String getStatusName() {
    return statusName;
  }
}
