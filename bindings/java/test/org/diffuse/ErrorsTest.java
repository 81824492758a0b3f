package org.diffuse;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.Test;

/** Every failure of the library arrives as a DiffuseException with its status and message. */
public class ErrorsTest {
  @Test
  public void versionMatchesTheHeaderTheBindingsWereBuiltFrom() {
    assertEquals(org.diffuse.swig.DiffuseNativeConstants.DIFFUSE_ABI_VERSION, Diffuse.abiVersion());
    assertEquals(String.format("%d.%d.%d", org.diffuse.swig.DiffuseNativeConstants.DIFFUSE_VERSION_MAJOR,
        org.diffuse.swig.DiffuseNativeConstants.DIFFUSE_VERSION_MINOR,
        org.diffuse.swig.DiffuseNativeConstants.DIFFUSE_VERSION_PATCH), Diffuse.version());
  }

  @Test
  public void badConfigThrowsInvalidConfigNamingTheField() {
    DiffuseException e = assertThrows(DiffuseException.class, () -> Trainer.create("run { batch_size: 0 }"));
    assertEquals(DiffuseException.INVALID_CONFIG, e.getStatus());
    assertEquals("invalid config", e.getStatusName());
    assertTrue(e.getMessage(), e.getMessage().contains("TrainConfig."));
  }

  @Test
  public void unknownFieldAndBadJsonAreRejected() {
    DiffuseException e = assertThrows(DiffuseException.class, () -> Trainer.create("run { no_such_field: 1 }"));
    assertTrue(e.getMessage(), e.getMessage().contains("no_such_field"));
    e = assertThrows(DiffuseException.class, () -> Trainer.create("{\"run\": {\"batchSize\": \"x\"}}", Format.JSON));
    assertEquals(DiffuseException.INVALID_CONFIG, e.getStatus());
  }

  @Test
  public void missingModelFileThrowsIoWithThePath() {
    DiffuseException e = assertThrows(DiffuseException.class, () -> Model.open("/nonexistent.safetensors"));
    assertEquals(DiffuseException.IO, e.getStatus());
    assertTrue(e.getMessage(), e.getMessage().contains("/nonexistent.safetensors"));
  }

  @Test
  public void garbageModelFileThrowsCorruptFile() throws Exception {
    Path file = Files.createTempFile("diffuse-java-", ".safetensors");
    try {
      Files.write(file, "not a safetensors file".getBytes("UTF-8"));
      DiffuseException e = assertThrows(DiffuseException.class, () -> Model.open(file.toString()));
      assertEquals(DiffuseException.CORRUPT_FILE, e.getStatus());
    } finally {
      Files.delete(file);
    }
  }

  @Test
  public void resumeWithoutCheckpointFails() {
    DiffuseException e = assertThrows(DiffuseException.class, () -> Trainer.resume("/nonexistent/run"));
    assertTrue(e.getStatus() != 0);
    assertTrue(e.getMessage(), e.getMessage().contains("/nonexistent/run"));
  }

  @Test
  public void processWideSettingsRejectBadValues() {
    DiffuseException e = assertThrows(DiffuseException.class, () -> Diffuse.setNumThreads(0));
    assertEquals(DiffuseException.INVALID_ARGUMENT, e.getStatus());
    e = assertThrows(DiffuseException.class, () -> Diffuse.deviceAvailable("quantum"));
    assertTrue(e.getMessage(), e.getMessage().contains("quantum"));
    assertTrue(Diffuse.deviceAvailable("cpu"));
  }

  @Test
  public void resolvedConfigHasDefaultsAndBadOnesThrow() {
    String resolved = Diffuse.resolveTrainConfig(
        "run { output_dir: \"/tmp/x\" duration_images: 4096 } data { train { format: IDX path: \"/x\" } }");
    assertTrue(resolved, resolved.contains("batch_size: 2048"));
    DiffuseException e = assertThrows(DiffuseException.class, () -> Diffuse.resolveTrainConfig(
        "run { output_dir: \"/tmp/x\" duration_images: 10 batch_size: 4 batch_per_step: 3 }"));
    assertTrue(e.getMessage(), e.getMessage().contains("batch_per_step"));
  }
}
