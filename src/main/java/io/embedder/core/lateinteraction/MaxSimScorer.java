package io.embedder.core.lateinteraction;

import java.util.Arrays;

/**
 * Late-interaction (ColBERT) score of documents against one float query:
 * {@code MaxSim(q, d) = Σ_i max_j q_i · d_j} over the query's vectors {@code q_i} and the document's stored vectors
 * {@code d_j} (read per {@link ElementType}: exact for float, asymmetric for byte and bit).
 *
 * <p>The query is prepared once ({@link PreparedQuery}: transposed, and for bit storage a lookup table); scoring reads
 * the stored bytes a few vectors at a time into small buffers of the scorer and allocates nothing. The kernel is the Panama Vector API one when
 * the JVM has {@code jdk.incubator.vector}, else plain Java loops: both give the same bits ({@link #kernel()} says
 * which runs). Not thread-safe: one scorer per thread (per segment), from one shared {@link PreparedQuery}.
 */
public final class MaxSimScorer {

    private final MaxSimKernel kernel = MaxSimKernels.SELECTED.kernel();
    private final PreparedQuery query;
    private final float[] best;
    private final float[][] scratch;

    /**
     * @param query the query's vectors: at least one, all of the same length, finite components (checked here)
     * @param type  how the documents' vectors are stored
     */
    public MaxSimScorer(float[][] query, ElementType type) {
        this(new PreparedQuery(query, type));
    }

    /** A scorer of a prepared query (cheap: prepare once per search, one scorer per thread). */
    public MaxSimScorer(PreparedQuery query) {
        this.query = query;
        this.best = new float[query.paddedCount()];
        this.scratch = new float[kernel.scratchRows()][Math.max(query.paddedCount(), query.dims())];
    }

    /** The kernel this JVM runs, and why when it is not the Panama one; e.g. {@code panama (512-bit vectors, fma)}. */
    public static String kernel() {
        String reason = MaxSimKernels.SELECTED.fallbackReason();
        return MaxSimKernels.SELECTED.kernel().description() + (reason == null ? "" : ": " + reason);
    }

    public int dims() {
        return query.dims();
    }

    public int queryVectors() {
        return query.queryVectors();
    }

    public ElementType type() {
        return query.type();
    }

    /** The prepared query (shareable with other threads' scorers). */
    public PreparedQuery query() {
        return query;
    }

    /**
     * The raw MaxSim of one stored value ({@link TokenVectors} layout); {@code -∞} for a value without vectors.
     *
     * @throws IllegalArgumentException if the value's dims differ from the query's or its length is not whole vectors
     */
    public float score(byte[] bytes, int offset, int length) {
        Arrays.fill(best, Float.NEGATIVE_INFINITY);
        fold(kernel, query, bytes, offset, length, best, scratch);
        toDotProducts(query, best);
        int count = query.queryVectors();
        float sum = 0;
        for (int i = 0; i < count; i++) {
            sum += best[i];
        }
        return sum;
    }

    /** Per query vector, its best dot product in the document last scored (for explain). */
    public float[] lastBest() {
        return Arrays.copyOf(best, query.queryVectors());
    }

    /**
     * A non-negative score that orders documents as the raw MaxSim does for unit vectors:
     * {@code max(0, (Q + raw) / 2)} with {@code Q} query vectors; it equals Lucene's {@code SUM_MAX_SIM} over
     * {@code DOT_PRODUCT} ({@code Σ_i (1 + max_j q_i·d_j) / 2}) when every dot product lies in [−1, 1].
     */
    public float nonNegative(float raw) {
        return Math.max(0f, (query.queryVectors() + raw) / 2f);
    }

    /**
     * For bit storage, turns each query vector's best sum S_i = max_j Σ_{set bits} q_ik into its dot product: every
     * component reads ±1/√dims, so q_i·d = (2·S_i − Σ_k q_ik) / √dims. Returns the bests of the real query vectors.
     */
    static float[] toDotProducts(PreparedQuery query, float[] best) {
        if (query.type() == ElementType.BIT) {
            float unit = (float) (1 / Math.sqrt(query.dims()));
            for (int i = 0; i < query.queryVectors(); i++) {
                best[i] = (2 * best[i] - query.total(i)) * unit;
            }
        }
        return best;
    }

    /** Checks the stored value's header and length, then runs the kernel's loop for the query's element type. */
    static void fold(MaxSimKernel kernel, PreparedQuery query, byte[] bytes, int offset, int length, float[] best, float[][] scratch) {
        if (length < TokenVectors.HEADER_BYTES) {
            throw new IllegalArgumentException("stored token vectors of " + length + " bytes have no header");
        }
        int dims = query.dims();
        int storedDims = TokenVectors.dims(bytes, offset);
        if (storedDims != dims) {
            throw new IllegalArgumentException("stored token vectors have " + storedDims + " dimensions, the query has " + dims);
        }
        ElementType type = query.type();
        int n = TokenVectors.count(type, dims, length);
        int at = offset + TokenVectors.HEADER_BYTES;
        int padded = query.paddedCount();
        switch (type) {
            case FLOAT -> kernel.floatMax(query.rows(), padded, bytes, at, n, best, scratch);
            case BYTE -> kernel.byteMax(query.rows(), padded, bytes, at, n, best, scratch);
            case BIT -> kernel.bitMax(query.bitRows(), padded, type.bytesPerVector(dims), bytes, at, n, best, scratch);
        }
    }
}
