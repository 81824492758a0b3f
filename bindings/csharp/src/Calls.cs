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

  internal static ByteVector Bytes(byte[] bytes) {
    return bytes == null ? new ByteVector() : new ByteVector(bytes);
  }

  internal static Int64Vector Int64s(IList<long> values) {
    var vector = new Int64Vector();
    if (values != null) foreach (long v in values) vector.Add(v);
    return vector;
  }

  internal static float[] ToArray(FloatVector vector) {
    using (vector) {
      var values = new float[vector.Count];
      vector.CopyTo(values);
      return values;
    }
  }

  internal static byte[] ToArray(ByteVector vector) {
    using (vector) {
      var bytes = new byte[vector.Count];
      vector.CopyTo(bytes);
      return bytes;
    }
  }
}

}
