package io.embedder.core.model;

import java.util.Objects;

/**
 * A model setting together with where it came from: a file of the model directory (with its key), the
 * descriptor override, or the ONNX graph.
 */
public record Sourced<T>(T value, String source) {
    public Sourced {
        Objects.requireNonNull(source, "source");
    }

    public static <T> Sourced<T> of(T value, String source) {
        return new Sourced<>(value, source);
    }
}
