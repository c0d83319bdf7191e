package io.embedder.core.lateinteraction;

import org.apache.lucene.util.VectorUtil;

/**
 * Late-interaction (ColBERT) score of documents against one float query:
 * {@code MaxSim(q, d) = Σ_i max_j q_i · d_j} over the query's vectors {@code q_i} and the document's stored vectors
 * {@code d_j} (decoded per {@link ElementType}: exact for float, asymmetric for byte and bit).
 *
 * <p>The query is copied once at construction; scoring a document reuses the scorer's buffers, so it allocates only
 * when a document has more vectors than any before. Not thread-safe: one scorer per thread (per segment).
 */
public final class MaxSimScorer {

    private final float[][] query;
    private final ElementType type;
    private final int dims;
    private final float[] best;
    private float[][] doc = new float[0][];

    /**
     * @param query the query's vectors: at least one, all of the same length, finite components (checked here)
     * @param type  how the documents' vectors are stored
     */
    public MaxSimScorer(float[][] query, ElementType type) {
        if (query == null || query.length == 0) {
            throw new IllegalArgumentException("a late-interaction query needs at least one vector");
        }
        this.dims = query[0].length;
        if (dims == 0) {
            throw new IllegalArgumentException("query vectors must have at least one dimension");
        }
        this.query = new float[query.length][];
        for (int i = 0; i < query.length; i++) {
            if (query[i].length != dims) {
                throw new IllegalArgumentException("query vector [" + i + "] has " + query[i].length + " dimensions, but vector [0] has " + dims);
            }
            for (float x : query[i]) {
                if (!Float.isFinite(x)) {
                    throw new IllegalArgumentException("query vector [" + i + "] holds a value that is not finite: [" + x + "]");
                }
            }
            this.query[i] = query[i].clone();
        }
        this.type = type;
        this.best = new float[query.length];
    }

    public int dims() {
        return dims;
    }

    public int queryVectors() {
        return query.length;
    }

    public ElementType type() {
        return type;
    }

    /**
     * The raw MaxSim of one stored value ({@link TokenVectors} layout).
     *
     * @throws IllegalArgumentException if the value's dims differ from the query's or its length is not whole vectors
     */
    public float score(byte[] bytes, int offset, int length) {
        int n = load(bytes, offset, length);
        float sum = 0;
        for (int i = 0; i < query.length; i++) {
            float max = Float.NEGATIVE_INFINITY;
            float[] q = query[i];
            for (int j = 0; j < n; j++) {
                max = Math.max(max, VectorUtil.dotProduct(q, doc[j]));
            }
            best[i] = max;
            sum += max;
        }
        return sum;
    }

    /** Per query vector, its best dot product in the document last scored (for explain). */
    public float[] lastBest() {
        return best.clone();
    }

    /**
     * A non-negative score that orders documents as the raw MaxSim does for unit vectors:
     * {@code max(0, (Q + raw) / 2)} with {@code Q} query vectors; it equals Lucene's {@code SUM_MAX_SIM} over
     * {@code DOT_PRODUCT} ({@code Σ_i (1 + max_j q_i·d_j) / 2}) when every dot product lies in [−1, 1].
     */
    public float nonNegative(float raw) {
        return Math.max(0f, (query.length + raw) / 2f);
    }

    private int load(byte[] bytes, int offset, int length) {
        if (length < TokenVectors.HEADER_BYTES) {
            throw new IllegalArgumentException("stored token vectors of " + length + " bytes have no header");
        }
        int storedDims = TokenVectors.dims(bytes, offset);
        if (storedDims != dims) {
            throw new IllegalArgumentException("stored token vectors have " + storedDims + " dimensions, the query has " + dims);
        }
        int n = TokenVectors.count(type, dims, length);
        if (doc.length < n) {
            float[][] grown = new float[Math.max(n, doc.length * 2)][];
            System.arraycopy(doc, 0, grown, 0, doc.length);
            for (int j = doc.length; j < grown.length; j++) {
                grown[j] = new float[dims];
            }
            doc = grown;
        }
        for (int j = 0; j < n; j++) {
            TokenVectors.decode(type, bytes, offset, dims, j, doc[j]);
        }
        return n;
    }
}
