package io.embedder.core;

import java.util.List;

/**
 * What the embedder returns, in input order: for {@link Task#EMBED} one vector per text ({@code vectors}); for
 * {@link Task#TOKEN_EMBED} one matrix of token vectors per text ({@code tokens}). The other list is empty.
 */
public record Embeddings(String model, Task task, int dimensions, List<float[]> vectors, List<float[][]> tokens) {}
