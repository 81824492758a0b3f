package org.diffuse;

import org.diffuse.swig.diffuse_format;

/** Wire format of a config message (schemas/diffuse/v1/diffuse.proto). */
public enum Format {
  /** Protocol Buffers binary encoding. */
  BINARY(diffuse_format.DIFFUSE_FORMAT_BINARY),
  /** Protocol Buffers text format, as in samples/configs/ and a run's config.textproto. */
  TEXT(diffuse_format.DIFFUSE_FORMAT_TEXT),
  /** The proto3 JSON mapping. */
  JSON(diffuse_format.DIFFUSE_FORMAT_JSON);

  final int value;

  Format(diffuse_format format) {
    this.value = format.swigValue();
  }
}
