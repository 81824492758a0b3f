package org.diffuse;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import org.diffuse.v1.RunConfig;
import org.diffuse.v1.TrainConfig;
import org.junit.Test;

/** protobuf-java configs reach the library in the binary encoding and come back resolved. */
public class MessagesTest {
  @Test
  public void resolvedMessageHasTheDefaults() {
    TrainConfig config = TrainConfig.newBuilder()
        .setRun(RunConfig.newBuilder().setOutputDir("/tmp/x").setDurationImages(4096))
        .setData(org.diffuse.v1.DataConfig.newBuilder().setTrain(
            org.diffuse.v1.DataSource.newBuilder().setFormat(org.diffuse.v1.DataSource.Format.IDX).setPath("/x")))
        .build();
    TrainConfig resolved = Messages.resolve(config);
    assertEquals(2048, resolved.getRun().getBatchSize());
    assertEquals("/tmp/x", resolved.getRun().getOutputDir());
  }

  @Test
  public void invalidMessageThrowsWithTheField() {
    TrainConfig config = TrainConfig.newBuilder().setRun(RunConfig.newBuilder().setBatchSize(0)).build();
    DiffuseException e = assertThrows(DiffuseException.class, () -> Messages.trainer(config));
    assertEquals(DiffuseException.INVALID_CONFIG, e.getStatus());
    assertTrue(e.getMessage(), e.getMessage().contains("TrainConfig."));
  }
}
