package org.diffuse;

import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.Test;

/**
 * Creating and closing 1,000 trainers and 1,000 models keeps the resident memory bounded. The tiny
 * network has ~0.4 MB of parameters, and a trainer also holds Adam moments and two EMAs, so a leak of
 * the native objects would add several hundred MB; 32 MB leaves room for allocator and JIT noise
 * (the JVM heap is fixed and pre-touched by the test's -Xms/-Xmx/-XX:+AlwaysPreTouch).
 */
public class MemoryTest {
  private static final long BOUND_KB = 32 * 1024;

  private static long residentKb() throws Exception {
    System.gc();
    List<String> lines = Files.readAllLines(Path.of("/proc/self/status"));
    for (String line : lines) {
      if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }
    throw new IllegalStateException("no VmRSS in /proc/self/status");
  }

  @Test
  public void thousandTrainersAndModelsDoNotGrowResidentMemory() throws Exception {
    Diffuse.setLogLevel(Diffuse.LogLevel.WARN);
    Path dir = Files.createTempDirectory("diffuse-java-memory-");
    try {
      Path modelFile;
      try (Trainer trainer = Trainer.create(TestData.syntheticConfig(dir, dir.resolve("first")))) {
        trainer.saveCheckpoint();
        modelFile = dir.resolve("first/checkpoint-0000000.safetensors");
      }
      for (int i = 0; i < 100; ++i) cycle(dir, i, modelFile);
      long before = residentKb();
      for (int i = 100; i < 1100; ++i) cycle(dir, i, modelFile);
      long after = residentKb();
      System.out.printf("Java RSS: %d kB after 100 cycles, %d kB after 1,100 (growth %d kB, bound %d kB)%n",
          before, after, after - before, BOUND_KB);
      assertTrue("resident memory grew by " + (after - before) + " kB", after - before < BOUND_KB);
    } finally {
      TestData.deleteTree(dir);
    }
  }

  private static void cycle(Path dir, int i, Path modelFile) throws Exception {
    Path runDir = dir.resolve("run" + i);
    try (Trainer trainer = Trainer.create(TestData.syntheticConfig(dir, runDir))) {
      trainer.status();
    }
    try (Model model = Model.open(modelFile.toString())) {
      model.numParameters();
    }
    TestData.deleteTree(runDir);
  }
}
