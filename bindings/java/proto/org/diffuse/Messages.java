package org.diffuse;

import com.google.protobuf.InvalidProtocolBufferException;
import org.diffuse.v1.ModelConfig;
import org.diffuse.v1.SamplerConfig;
import org.diffuse.v1.TrainConfig;

/**
 * Configs as protobuf-java messages (package org.diffuse.v1, generated from schemas/ when Debian's
 * libprotobuf-java is installed); they cross into the library in the binary encoding.
 */
public final class Messages {
  private Messages() {}

  public static Trainer trainer(TrainConfig config) {
    return Trainer.create(config.toByteArray(), Format.BINARY);
  }

  public static Model model(String path, String device, ModelConfig config) {
    return Model.open(path, device, config.toByteArray(), Format.BINARY);
  }

  public static Sampler sampler(Model model, Model guide, SamplerConfig config) {
    return Sampler.create(model, guide, config.toByteArray(), Format.BINARY);
  }

  /** The config with every default filled in, validated by the library. */
  public static TrainConfig resolve(TrainConfig config) {
    byte[] resolved = Diffuse.resolveTrainConfig(config.toByteArray(), Format.BINARY, Format.BINARY);
    try {
      return TrainConfig.parseFrom(resolved);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("the library returned an unreadable TrainConfig", e);
    }
  }

  /** The model's resolved ModelConfig. */
  public static ModelConfig config(Model model) {
    try {
      return ModelConfig.parseFrom(model.config(Format.BINARY));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("the library returned an unreadable ModelConfig", e);
    }
  }
}
