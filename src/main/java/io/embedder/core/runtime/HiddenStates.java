package io.embedder.core.runtime;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;

/**
 * A model output, flat and row-major, where ONNX Runtime wrote it: {@code [batch, seq, dim]} token states, or
 * {@code [batch, dim]} pooled vectors when {@code pooled} (then {@code seq} is 1). {@code mask} is the
 * {@code [batch, seq]} attention mask that went in. Valid until the buffers it views are reused.
 */
public record HiddenStates(FloatBuffer data, LongBuffer mask, int batch, int seq, int dim, boolean pooled) {}
