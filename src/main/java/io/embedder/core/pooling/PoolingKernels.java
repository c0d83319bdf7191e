package io.embedder.core.pooling;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;

/**
 * Pooling over one row of a batch of token states, without allocation.
 *
 * <p>Layout: {@code hidden} is the flat row-major {@code [batch, seq, dim]} tensor; row {@code b} starts at
 * {@code b * seq * dim}. {@code mask} is the flat {@code [batch, seq]} attention mask (1 real, 0 padding);
 * row {@code b} starts at {@code b * seq}. Sums are accumulated in double. A row must hold at least one real
 * token: tokenizers always add special tokens, so the boundary ({@code pool}) checks it once per row. The buffer forms
 * read a model's output where ONNX Runtime wrote it (absolute gets; positions are ignored, limits bound the tensors).
 */
public final class PoolingKernels {

    private PoolingKernels() {}

    /**
     * Pools row {@code b} into {@code out} (length {@code dim}).
     *
     * @throws IllegalArgumentException if the strategy does not reduce tokens or the row has no real token
     */
    public static void pool(Pooling pooling, float[] hidden, long[] mask, int b, int seq, int dim, float[] out) {
        pool(pooling, FloatBuffer.wrap(hidden), LongBuffer.wrap(mask), b, seq, dim, out);
    }

    /** {@link #pool(Pooling, float[], long[], int, int, int, float[])} over buffers. */
    public static void pool(Pooling pooling, FloatBuffer hidden, LongBuffer mask, int b, int seq, int dim, float[] out) {
        if (!pooling.reducesTokens()) {
            throw new IllegalArgumentException("pooling [" + pooling.id() + "] does not reduce token states to one vector");
        }
        if (out.length != dim || hidden.limit() < (long) (b + 1) * seq * dim || mask.limit() < (long) (b + 1) * seq) {
            throw new IllegalArgumentException("tensor shapes do not match [seq=" + seq + ", dim=" + dim + "]");
        }
        int first = firstReal(mask, b, seq);
        if (first < 0) {
            throw new IllegalArgumentException("row [" + b + "] has no real token");
        }
        switch (pooling) {
            case CLS -> copyToken(hidden, b, seq, dim, first, out);
            case LAST_TOKEN -> copyToken(hidden, b, seq, dim, lastReal(mask, b, seq), out);
            case MEAN -> weightedSum(hidden, mask, b, seq, dim, false, Scale.COUNT, out);
            case MEAN_SQRT_LEN -> weightedSum(hidden, mask, b, seq, dim, false, Scale.SQRT_COUNT, out);
            case WEIGHTED_MEAN -> weightedSum(hidden, mask, b, seq, dim, true, Scale.WEIGHT, out);
            case MAX -> extremum(hidden, mask, b, seq, dim, true, out);
            case MIN -> extremum(hidden, mask, b, seq, dim, false, out);
            default -> throw new AssertionError(pooling);
        }
    }

    /** Index of the first real token of row {@code b}, or -1. */
    public static int firstReal(long[] mask, int b, int seq) {
        return firstReal(LongBuffer.wrap(mask), b, seq);
    }

    public static int firstReal(LongBuffer mask, int b, int seq) {
        int base = b * seq;
        for (int t = 0; t < seq; t++) {
            if (mask.get(base + t) != 0) {
                return t;
            }
        }
        return -1;
    }

    /** Index of the last real token of row {@code b}, or -1. */
    public static int lastReal(long[] mask, int b, int seq) {
        return lastReal(LongBuffer.wrap(mask), b, seq);
    }

    public static int lastReal(LongBuffer mask, int b, int seq) {
        int base = b * seq;
        for (int t = seq - 1; t >= 0; t--) {
            if (mask.get(base + t) != 0) {
                return t;
            }
        }
        return -1;
    }

    private enum Scale { COUNT, SQRT_COUNT, WEIGHT }

    private static void copyToken(FloatBuffer hidden, int b, int seq, int dim, int t, float[] out) {
        assert t >= 0 && t < seq;
        hidden.get((b * seq + t) * dim, out, 0, dim);
    }

    /**
     * Sum of real token states, each weighted by 1 or, for the weighted mean, by its position among the real
     * tokens (1, 2, ...), divided by the count, its square root, or the sum of weights. Accumulates one
     * dimension at a time in a double, so nothing is allocated.
     */
    private static void weightedSum(FloatBuffer hidden, LongBuffer mask, int b, int seq, int dim, boolean byPosition, Scale scale,
                                    float[] out) {
        int base = b * seq;
        long count = 0;
        for (int t = 0; t < seq; t++) {
            if (mask.get(base + t) != 0) {
                count++;
            }
        }
        assert count > 0;
        double divisor = switch (scale) {
            case COUNT -> count;
            case SQRT_COUNT -> Math.sqrt(count);
            case WEIGHT -> count * (count + 1) / 2.0;
        };
        for (int d = 0; d < dim; d++) {
            double acc = 0;
            int position = 0;
            for (int t = 0; t < seq; t++) {
                if (mask.get(base + t) == 0) {
                    continue;
                }
                position++;
                double w = byPosition ? position : 1.0;
                acc += w * hidden.get((base + t) * dim + d);
            }
            out[d] = (float) (acc / divisor);
        }
    }

    private static void extremum(FloatBuffer hidden, LongBuffer mask, int b, int seq, int dim, boolean max, float[] out) {
        java.util.Arrays.fill(out, max ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY);
        int base = b * seq;
        for (int t = 0; t < seq; t++) {
            if (mask.get(base + t) == 0) {
                continue;
            }
            int off = (base + t) * dim;
            for (int d = 0; d < dim; d++) {
                float v = hidden.get(off + d);
                out[d] = max ? Math.max(out[d], v) : Math.min(out[d], v);
            }
        }
    }
}
