package io.embedder.bench;

import io.embedder.core.lateinteraction.ElementType;
import io.embedder.core.lateinteraction.TokenVectors;
import org.apache.lucene.util.VectorUtil;

/**
 * The first MaxSim scorer (commit 9a7d649), kept as a baseline: decode each stored vector into a reused float row,
 * then one Lucene {@link VectorUtil#dotProduct} per (query vector, document vector) pair. With {@code scalar} the dot
 * product is a plain Java loop instead: the "plain scalar loop" of the benchmark.
 */
final class RowsMaxSim {

    private final float[][] query;
    private final ElementType type;
    private final int dims;
    private final boolean scalar;
    private float[][] doc = new float[0][];

    RowsMaxSim(float[][] query, ElementType type, boolean scalar) {
        this.query = query;
        this.type = type;
        this.dims = query[0].length;
        this.scalar = scalar;
    }

    float score(byte[] bytes, int offset, int length) {
        int n = TokenVectors.count(type, dims, length);
        if (doc.length < n) {
            doc = new float[n][dims];
        }
        for (int j = 0; j < n; j++) {
            TokenVectors.decode(type, bytes, offset, dims, j, doc[j]);
        }
        float sum = 0;
        for (float[] q : query) {
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                max = Math.max(max, scalar ? dot(q, doc[j]) : VectorUtil.dotProduct(q, doc[j]));
            }
            sum += max;
        }
        return sum;
    }

    private static float dot(float[] a, float[] b) {
        float s = 0;
        for (int k = 0; k < a.length; k++) {
            s += a[k] * b[k];
        }
        return s;
    }
}
