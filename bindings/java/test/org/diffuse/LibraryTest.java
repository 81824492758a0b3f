package org.diffuse;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Every function of diffuse.h beyond training from files and sampling bytes: versions, logging, the
 * world, host images (create and resume), the status message, validation loss, caller memory,
 * consistency and evaluation.
 */
public class LibraryTest {
  private static Path dir;
  private static Path runDir;
  private static Images images;
  private static final List<String> messages = new CopyOnWriteArrayList<>();

  /** 64 grey 16x16 images with a pattern per class, and their labels. */
  static Images hostImages() {
    final int count = 64, side = 16;
    byte[] pixels = new byte[count * side * side];
    long[] labels = new long[count];
    for (int i = 0; i < count; ++i) {
      labels[i] = i % 10;
      for (int p = 0; p < side * side; ++p) pixels[i * side * side + p] = (byte) ((i * 37 + p * (1 + i % 10)) % 256);
    }
    return new Images(pixels, side, side, 1, labels);
  }

  static String memoryConfig(Path runDir) {
    return "model { img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2]"
        + " num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16 }"
        + " data { train { format: MEMORY } } optimizer { rampup_images: 64 }"
        + " run { output_dir: \"" + runDir + "\" batch_size: 16 duration_images: 160 status_images: 32"
        + " checkpoint_images: 0 validation_images: 16 threads: 1 }";
  }

  @BeforeClass
  public static void trainFromHostImages() throws Exception {
    dir = Files.createTempDirectory("diffuse-java-library-");
    runDir = dir.resolve("memory-run");
    images = hostImages();
    Path logFile = dir.resolve("log.txt");
    Diffuse.setLogLevel(Diffuse.LogLevel.INFO);
    Diffuse.setLogCallback((level, text) -> messages.add(level + " " + text));
    Diffuse.logToFile(logFile.toString());
    try (Trainer trainer = Trainer.create(memoryConfig(runDir), images, null)) {
      assertEquals(2, trainer.run(2));
      assertTrue(trainer.statusText(), trainer.statusText().contains("steps: 2"));
      assertTrue(trainer.statusMessage(Format.JSON).length > 0);
      trainer.saveCheckpoint();
    } finally {
      Diffuse.setLogCallback(null);
      Diffuse.logToFile(null);
      Diffuse.setLogLevel(Diffuse.LogLevel.WARN);
    }
    assertTrue(new String(Files.readAllBytes(logFile), StandardCharsets.UTF_8).contains(runDir.toString()));
  }

  @AfterClass
  public static void removeRun() throws Exception {
    TestData.deleteTree(dir);
  }

  @Test
  public void versionNumberMatchesVersion() {
    String[] parts = Diffuse.version().split("\\.");
    assertEquals(Integer.parseInt(parts[0]) * 10000 + Integer.parseInt(parts[1]) * 100 + Integer.parseInt(parts[2]),
                 Diffuse.versionNumber());
  }

  @Test
  public void outsideALaunchTheWorldIsOneProcess() {
    Diffuse.WorldPosition world = Diffuse.worldJoin();
    assertEquals(0, world.rank);
    assertEquals(1, world.worldSize);
  }

  @Test
  public void logCallbackSawTheRunAndStopsWhenRemoved() {
    assertTrue(messages.toString(), messages.stream().anyMatch(m -> m.startsWith("INFO ") && m.contains(runDir.toString())));
    int before = messages.size();
    DiffuseException e = assertThrows(DiffuseException.class, () -> Trainer.resume(runDir.toString()));
    assertTrue(e.getMessage(), e.getMessage().contains("MEMORY"));
    assertEquals(before, messages.size());
  }

  @Test
  public void hostImagesResumeAndBadGeometryIsNamed() {
    try (Trainer trainer = Trainer.resume(runDir.toString(), images, null)) {
      assertEquals(2, trainer.status().steps);
      assertEquals(1, trainer.run(1));
    }
    DiffuseException e = assertThrows(DiffuseException.class,
        () -> Trainer.create(memoryConfig(dir.resolve("bad")), new Images(new byte[100], 16, 16, 1), null));
    assertTrue(e.getMessage(), e.getMessage().contains("100 pixel values"));
  }

  @Test
  public void validationLossSamplingIntoBuffersConsistencyAndEvaluation() {
    try (Model model = Model.open(runDir.resolve("checkpoint-0000000.safetensors").toString())) {
      ValidationLoss v = model.validationLoss(images, 5);
      assertEquals(10, v.sigmas.length);
      assertEquals(0.002, v.sigmas[0], 1e-12);
      assertEquals(80, v.sigmas[9], 1e-9);
      double sum = 0;
      for (double l : v.losses) sum += l;
      assertEquals(v.mean, sum / 10, 1e-9 * Math.abs(v.mean));
      assertEquals(v.mean, model.validationLoss(images, 5).mean, 0);

      try (Sampler sampler = Sampler.create(model, "num_steps: 4")) {
        long[] seeds = {3, 4};
        long[] labels = {1, 2};
        ByteBuffer bytes = ByteBuffer.allocateDirect(8 + 2 * 256);
        bytes.position(8);
        sampler.sampleInto(seeds, labels, false, bytes);
        assertEquals(8, bytes.position());
        byte[] got = new byte[2 * 256];
        bytes.get(got);
        assertArrayEquals(sampler.sample(seeds, labels), got);
        ByteBuffer floats = ByteBuffer.allocateDirect(2 * 256 * 4).order(ByteOrder.nativeOrder());
        sampler.sampleInto(seeds, labels, true, floats);
        float[] values = new float[2 * 256];
        floats.asFloatBuffer().get(values);
        assertArrayEquals(sampler.sampleFloat(seeds, labels), values, 0f);
        DiffuseException small = assertThrows(DiffuseException.class,
            () -> sampler.sampleInto(seeds, labels, false, ByteBuffer.allocateDirect(10)));
        assertTrue(small.getMessage(), small.getMessage().contains("capacity"));
        assertThrows(IllegalArgumentException.class, () -> sampler.sampleInto(seeds, labels, false, ByteBuffer.allocate(512)));
        Consistency c = sampler.consistency(model, seeds, labels);
        assertEquals(0, c.relativeMsd, 0);
        assertEquals(1, c.cosine, 1e-6);
      }

      String data = TestData.fashionMnistDir();
      EvalResult r = model.evaluate("reference { format: IDX path: \"" + data + "/t10k-images-idx3-ubyte.gz\""
          + " labels_path: \"" + data + "/t10k-labels-idx1-ubyte.gz\" } resize: RESIZE classifier: \""
          + System.getenv("DIFFUSE_SOURCE_DIR") + "/metrics/fashion-mnist-classifier.safetensors\""
          + " num_images: 10 k: 2 sampler { num_steps: 2 }");
      assertEquals(10, r.numImages);
      assertTrue(r.toString(), r.fdCls > 0 && r.swd > 0 && r.validationLoss > 0 && r.precision >= 0 && r.recall <= 1);
      DiffuseException bad = assertThrows(DiffuseException.class, () -> model.evaluate("num_images: 10"));
      assertTrue(bad.getMessage(), bad.getMessage().contains("EvalConfig."));
    }
  }
}
