using System;
using System.Collections.Generic;
using Diffuse.Native;

namespace Diffuse {

/// <summary>Runs one facade call with a fresh Status; a failure becomes a DiffuseException.</summary>
internal static class Calls {
  internal static T Call<T>(Func<Status, T> call) {
    using (var status = new Status()) {
      T result = call(status);
      if (!status.ok()) throw new DiffuseException(status.code(), status.name(), status.message());
      return result;
    }
  }

  internal static void Run(Action<Status> call) {
    Call<bool>(status => { call(status); return true; });
  }

  // The facade's arrays are C# arrays (bindings/swig/csharp.i); an IList that is one passes as it is.
  internal static long[] Int64s(IList<long> values) {
    if (values == null) return null;
    return values as long[] ?? new List<long>(values).ToArray();
  }

  // For the raw functions that return a status: P/Invoke stays on the calling thread, so the message
  // of diffuse_last_error() is theirs.
  internal static void Check(diffuse_status status) {
    if (status != diffuse_status.DIFFUSE_OK) {
      throw new DiffuseException((int)status, DiffuseNative.diffuse_status_string(status),
                                 DiffuseNative.diffuse_last_error());
    }
  }
}

}
