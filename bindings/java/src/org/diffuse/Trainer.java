package org.diffuse;

import java.nio.charset.StandardCharsets;
import org.diffuse.swig.Status;
import org.diffuse.swig.diffuse_train_status;

/**
 * A training run. Created from a TrainConfig (text, JSON or binary protobuf) or resumed from a run
 * directory; trains when asked, a batch of steps at a time, so the host decides when to show progress,
 * stop or checkpoint. Close it to release the network, optimizer and loader (no checkpoint is written).
 *
 * <p>Threads: one call at a time; {@link #status()} and {@link #requestStop()} may come from any thread
 * while {@link #run(long)} trains. A second concurrent {@code run} fails with status BUSY.
 */
public final class Trainer implements AutoCloseable {
  private volatile org.diffuse.swig.Trainer handle;

  private Trainer(org.diffuse.swig.Trainer handle) {
    this.handle = handle;
  }

  /** Starts a new run from a text-format TrainConfig. */
  public static Trainer create(String config) {
    return create(config, Format.TEXT);
  }

  /** Starts a new run from a TrainConfig in text or JSON format. */
  public static Trainer create(String config, Format format) {
    return create(config.getBytes(StandardCharsets.UTF_8), format);
  }

  /** Starts a new run from a TrainConfig in any format. */
  public static Trainer create(byte[] config, Format format) {
    return open((handle, status) -> handle.create(config, format.value, status));
  }

  /**
   * Starts a new run whose text-format TrainConfig reads MEMORY data from {@code train} (and from
   * {@code validation} when its validation data is MEMORY too; null otherwise).
   */
  public static Trainer create(String config, Images train, Images validation) {
    return create(config.getBytes(StandardCharsets.UTF_8), Format.TEXT, train, validation);
  }

  /** {@link #create(String, Images, Images)} for a TrainConfig in any format. */
  public static Trainer create(byte[] config, Format format, Images train, Images validation) {
    return withImages(train, validation,
                      (handle, t, v, status) -> handle.create_with_images(config, format.value, t, v, status));
  }

  /** Continues a MEMORY-data run: the same images handed in again ({@code validation} may be null). */
  public static Trainer resume(String runDir, Images train, Images validation) {
    return withImages(train, validation, (handle, t, v, status) -> handle.resume_with_images(runDir, t, v, status));
  }

  /** Continues the run in {@code runDir} exactly where its newest checkpoint left it. */
  public static Trainer resume(String runDir) {
    return open((handle, status) -> handle.resume(runDir, status));
  }

  private interface Open {
    void apply(org.diffuse.swig.Trainer handle, Status status);
  }

  private interface OpenWithImages {
    void apply(org.diffuse.swig.Trainer handle, org.diffuse.swig.Images train, org.diffuse.swig.Images validation,
               Status status);
  }

  // A new native trainer opened by `open`; released again if that fails.
  private static Trainer open(Open open) {
    org.diffuse.swig.Trainer handle = new org.diffuse.swig.Trainer();
    try {
      Calls.run(status -> open.apply(handle, status));
    } catch (RuntimeException e) {
      handle.delete();
      throw e;
    }
    return new Trainer(handle);
  }

  // open() with the host images copied into the facade for the call.
  private static Trainer withImages(Images train, Images validation, OpenWithImages open) {
    if (train == null) throw new IllegalArgumentException("train images are null");
    org.diffuse.swig.Images t = train.toNative();
    org.diffuse.swig.Images v = validation == null ? null : validation.toNative();
    try {
      return open((handle, status) -> open.apply(handle, t, v, status));
    } finally {
      Images.delete(t);
      Images.delete(v);
    }
  }

  /** Trains up to {@code maxSteps} optimizer steps; returns the number taken (fewer once done). */
  public long run(long maxSteps) {
    org.diffuse.swig.Trainer h = Calls.requireOpen(handle);
    return Calls.call(status -> h.run(maxSteps, status));
  }

  /** Progress as of the last completed step. */
  public TrainStatus status() {
    org.diffuse.swig.Trainer h = Calls.requireOpen(handle);
    diffuse_train_status s = Calls.call(status -> h.progress(status));
    try {
      return new TrainStatus(s);
    } finally {
      s.delete();
    }
  }

  /** The progress as a TrainStatus message in {@code format}, with the run directory. */
  public byte[] statusMessage(Format format) {
    org.diffuse.swig.Trainer h = Calls.requireOpen(handle);
    return Calls.call(status -> h.status_message(format.value, status));
  }

  /** {@link #statusMessage} in text format. */
  public String statusText() {
    return new String(statusMessage(Format.TEXT), StandardCharsets.UTF_8);
  }

  /** Makes the current (or next) {@link #run(long)} write a checkpoint and return after its step. */
  public void requestStop() {
    org.diffuse.swig.Trainer h = Calls.requireOpen(handle);
    Calls.run(status -> h.request_stop(status));
  }

  /** Writes a checkpoint into the run directory now. */
  public void saveCheckpoint() {
    org.diffuse.swig.Trainer h = Calls.requireOpen(handle);
    Calls.run(status -> h.save_checkpoint(status));
  }

  /** Releases the run; closing twice is allowed. */
  @Override
  public synchronized void close() {
    if (handle != null) {
      handle.delete();
      handle = null;
    }
  }
}
