package org.diffuse;

import org.diffuse.swig.Status;

/** Runs one facade call with a fresh Status and turns a failure into a DiffuseException. */
final class Calls {
  private Calls() {}

  interface Call<T> {
    T apply(Status status);
  }

  interface VoidCall {
    void apply(Status status);
  }

  static <T> T call(Call<T> call) {
    Status status = new Status();
    try {
      T result = call.apply(status);
      check(status);
      return result;
    } finally {
      status.delete();
    }
  }

  static void run(VoidCall call) {
    call(status -> {
      call.apply(status);
      return null;
    });
  }

  private static void check(Status status) {
    if (!status.ok()) throw new DiffuseException(status.code(), status.name(), status.message());
  }

  static org.diffuse.swig.Model requireOpen(org.diffuse.swig.Model model) {
    if (model == null) throw new IllegalStateException("the model is closed");
    return model;
  }

  static org.diffuse.swig.Sampler requireOpen(org.diffuse.swig.Sampler sampler) {
    if (sampler == null) throw new IllegalStateException("the sampler is closed");
    return sampler;
  }

  static org.diffuse.swig.Trainer requireOpen(org.diffuse.swig.Trainer trainer) {
    if (trainer == null) throw new IllegalStateException("the trainer is closed");
    return trainer;
  }
}
