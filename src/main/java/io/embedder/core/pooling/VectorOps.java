package io.embedder.core.pooling;

import java.util.Arrays;

/** Vector post-processing: L2 normalization and Matryoshka truncation. */
public final class VectorOps {

    /**
     * Norms below this are treated as this value, so a zero vector stays zero instead of becoming NaN
     * (the policy of {@code torch.nn.functional.normalize}, which sentence-transformers uses).
     */
    public static final double MIN_NORM = 1e-12;

    private VectorOps() {}

    /** Scales {@code v} in place to unit L2 norm; a vector with norm below {@link #MIN_NORM} is divided by it. */
    public static void l2Normalize(float[] v) {
        double sum = 0;
        for (float x : v) {
            sum += (double) x * x;
        }
        double norm = Math.max(Math.sqrt(sum), MIN_NORM);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (v[i] / norm);
        }
    }

    /** The first {@code dims} components of {@code v} (Matryoshka truncation); {@code v} itself when already that size. */
    public static float[] truncate(float[] v, int dims) {
        if (dims <= 0 || dims > v.length) {
            throw new IllegalArgumentException("cannot truncate a vector of " + v.length + " dimensions to " + dims);
        }
        return dims == v.length ? v : Arrays.copyOf(v, dims);
    }

    /** Cosine similarity in double precision. */
    public static double cosine(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("vector dimensions differ: " + a.length + " != " + b.length);
        }
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.max(Math.sqrt(na) * Math.sqrt(nb), MIN_NORM);
    }
}
