package org.diffuse;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/** Trains the tiny model on Fashion-MNIST once, then checks models, sampling and post-hoc EMA. */
public class TrainSampleTest {
  private static final int STEPS = 8;
  private static Path runDir;
  private static TrainStatus afterFirstRun;
  private static TrainStatus finalStatus;

  @BeforeClass
  public static void train() throws Exception {
    Diffuse.setLogLevel(Diffuse.LogLevel.WARN);
    runDir = Files.createTempDirectory("diffuse-java-run-").resolve("run");
    try (Trainer trainer = Trainer.create(TestData.fashionMnistConfig(runDir, STEPS))) {
      assertEquals(3, trainer.run(3));
      afterFirstRun = trainer.status();
      trainer.saveCheckpoint();
      while (!trainer.status().done) trainer.run(4);
      finalStatus = trainer.status();
    }
  }

  @AfterClass
  public static void removeRun() throws Exception {
    TestData.deleteTree(runDir.getParent());
  }

  @Test
  public void statusCountsImagesAndSteps() {
    assertEquals(3, afterFirstRun.steps);
    assertEquals(96, afterFirstRun.imagesSeen);
    assertEquals(STEPS * 32, afterFirstRun.imagesTotal);
    assertFalse(afterFirstRun.done);
    assertTrue(Double.isFinite(afterFirstRun.loss));
    assertTrue(afterFirstRun.learningRate > 0);
    assertTrue(finalStatus.done);
    assertEquals(STEPS, finalStatus.steps);
  }

  @Test
  public void runWritesCheckpointAndSnapshots() {
    assertTrue(Files.exists(runDir.resolve("checkpoint-0000000.safetensors")));
    assertTrue(Files.exists(runDir.resolve("ema-0.050-0000000.safetensors")));
    assertTrue(Files.exists(runDir.resolve("ema-0.100-0000000.safetensors")));
  }

  @Test
  public void resumeOfAFinishedRunIsDone() {
    try (Trainer trainer = Trainer.resume(runDir.toString())) {
      assertEquals(STEPS * 32, trainer.status().imagesSeen);
      assertEquals(0, trainer.run(1));
    }
  }

  @Test
  public void modelReportsItsConfigAndShape() {
    try (Model model = Model.open(runDir.resolve("checkpoint-0000000.safetensors").toString())) {
      assertEquals(1, model.channels());
      assertEquals(16, model.resolution());
      assertEquals(10, model.labelDim());
      assertTrue(model.numParameters() > 100000);
      assertTrue(model.configText().contains("img_resolution: 16"));
    }
  }

  @Test
  public void samplesDependOnlyOnTheirSeedAndLabel() {
    try (Model model = Model.open(runDir.resolve("ema-0.100-0000000.safetensors").toString());
        Sampler sampler = Sampler.create(model, "num_steps: 4")) {
      byte[] batch = sampler.sample(new long[] {7, 8, 9}, new long[] {0, 3, -1});
      assertEquals(3 * 256, batch.length);
      byte[] single = sampler.sample(new long[] {9}, new long[] {-1});
      int maxDiff = 0;
      for (int i = 0; i < 256; ++i) maxDiff = Math.max(maxDiff, Math.abs((single[i] & 0xff) - (batch[512 + i] & 0xff)));
      assertTrue("max difference " + maxDiff, maxDiff <= 1);
      assertArrayEquals(batch, sampler.sample(new long[] {7, 8, 9}, new long[] {0, 3, -1}));
      try (Sampler dpm = Sampler.create(model, "num_steps: 4 solver: DPMPP_2M")) {
        assertEquals(3 * 256, dpm.sample(new long[] {7, 8, 9}, null).length);
        assertEquals(3 * 256, dpm.sampleFloat(new long[] {7, 8, 9}, null).length);
      }
    }
  }

  @Test
  public void badSamplerInputsThrow() {
    try (Model model = Model.open(runDir.resolve("checkpoint-0000000.safetensors").toString());
        Sampler sampler = Sampler.create(model)) {
      DiffuseException e = assertThrows(DiffuseException.class, () -> Sampler.create(model, "num_steps: 0"));
      assertEquals(DiffuseException.INVALID_CONFIG, e.getStatus());
      assertTrue(e.getMessage(), e.getMessage().contains("SamplerConfig.num_steps"));
      e = assertThrows(DiffuseException.class, () -> sampler.sample(new long[] {1, 2}, new long[] {0}));
      assertEquals(DiffuseException.INVALID_ARGUMENT, e.getStatus());
      e = assertThrows(DiffuseException.class, () -> sampler.sample(new long[] {1}, new long[] {10}));
      assertEquals(DiffuseException.INVALID_ARGUMENT, e.getStatus());
    }
    Model closed = Model.open(runDir.resolve("checkpoint-0000000.safetensors").toString());
    closed.close();
    closed.close();
    assertThrows(IllegalStateException.class, () -> Sampler.create(closed));
  }

  @Test
  public void gridIsAPng() throws Exception {
    Path grid = runDir.resolve("grid.png");
    try (Model model = Model.open(runDir.resolve("checkpoint-0000000.safetensors").toString());
        Sampler sampler = Sampler.create(model, "num_steps: 2")) {
      sampler.sampleGrid(new long[] {0, 1, 2, 3}, new long[] {0, 1, 2, 3}, 2, grid.toString());
    }
    byte[] png = Files.readAllBytes(grid);
    assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(png, 4));
  }

  @Test
  public void postHocEmaReproducesATrackedProfileAndRefusesAShortOne() {
    String out = runDir.resolve("phema").toString();
    double[] residuals = PostHocEma.reconstruct(runDir.toString(), new double[] {0.10}, out);
    assertEquals(1, residuals.length);
    assertTrue("residual " + residuals[0], residuals[0] >= 0 && residuals[0] < 1e-6);
    assertTrue(Files.exists(runDir.resolve("phema/phema-0.100-0000000.safetensors")));
    DiffuseException e = assertThrows(DiffuseException.class,
        () -> PostHocEma.reconstruct(runDir.toString(), new double[] {0.01}, out));
    assertEquals(DiffuseException.INVALID_ARGUMENT, e.getStatus());
    assertTrue(e.getMessage(), e.getMessage().contains("0.01"));
  }
}
