package io.embedder.core.runtime;

/**
 * A model output, flat and row-major: {@code [batch, seq, dim]} token states, or {@code [batch, dim]} pooled vectors
 * when {@code seq == 1 && pooled}. {@code mask} is the {@code [batch, seq]} attention mask that went in.
 */
public record HiddenStates(float[] data, long[] mask, int batch, int seq, int dim, boolean pooled) {}
