package io.embedder.core.lateinteraction;

/**
 * A late-interaction query prepared once for scoring many documents: its vectors validated and laid out for the
 * MaxSim kernel. Immutable and thread-safe: build one per search and give each thread (segment) its own
 * {@link #scorer()}.
 *
 * <p>Layout: the query is stored transposed, one row per dimension, {@code rows[k][i] = q_i[k]}, with the query count
 * padded with zero vectors to a multiple of the kernel's lane count, so the kernel multiplies one document component
 * by a whole row of query components at once and keeps each query vector's maximum in its own lane (no horizontal
 * sums). For {@link ElementType#BIT} documents it also holds a lookup table: for each byte position {@code p} of a
 * stored bit vector and each byte value {@code v}, a row of the sums over the set bits of {@code v} of every query
 * vector's components, {@code bitRows[p · 256 + v][i] = Σ_{bit b of v set} q_i[8p + 7 − b]}; a document bit vector then
 * costs {@code ceil(dims / 8)} row additions, and {@code q·d = (2·S − Σ_k q_k) / √dims} with {@code S} that sum (the
 * document reads as ±1/√dims per dimension). The table takes about {@code 128 · dims · paddedCount} bytes (1.5 MB for
 * 32 query vectors of 384 dims) and is built in about as many additions as it has entries.
 */
public final class PreparedQuery {

    private final float[][] vectors;
    private final ElementType type;
    private final int dims;
    private final int paddedCount;
    private final float[][] rows;
    private final float[][] bitRows;
    private final float[] totals;

    /**
     * @param query the query's vectors: at least one, all of the same length, finite components (checked here)
     * @param type  how the documents' vectors are stored
     */
    public PreparedQuery(float[][] query, ElementType type) {
        this(query, type, MaxSimKernels.SELECTED.kernel().queryPadding());
    }

    /** @param pad the query count is padded to a multiple of this (a multiple of the kernel's lanes) */
    PreparedQuery(float[][] query, ElementType type, int pad) {
        if (query == null || query.length == 0) {
            throw new IllegalArgumentException("a late-interaction query needs at least one vector");
        }
        this.dims = query[0].length;
        if (dims == 0) {
            throw new IllegalArgumentException("query vectors must have at least one dimension");
        }
        this.vectors = new float[query.length][];
        for (int i = 0; i < query.length; i++) {
            if (query[i].length != dims) {
                throw new IllegalArgumentException("query vector [" + i + "] has " + query[i].length + " dimensions, but vector [0] has " + dims);
            }
            for (float x : query[i]) {
                if (!Float.isFinite(x)) {
                    throw new IllegalArgumentException("query vector [" + i + "] holds a value that is not finite: [" + x + "]");
                }
            }
            this.vectors[i] = query[i].clone();
        }
        this.type = type;
        this.paddedCount = (query.length + pad - 1) / pad * pad;
        this.rows = new float[dims][paddedCount];
        for (int i = 0; i < query.length; i++) {
            for (int k = 0; k < dims; k++) {
                rows[k][i] = vectors[i][k];
            }
        }
        this.bitRows = type == ElementType.BIT ? buildBitRows() : null;
        this.totals = new float[query.length];
        for (int i = 0; i < query.length; i++) {
            float total = 0;
            for (float x : vectors[i]) {
                total += x;
            }
            totals[i] = total;
        }
    }

    /** Row p·256 + v is the row of v without its lowest set bit, plus the query row of that bit's dimension. */
    private float[][] buildBitRows() {
        int positions = ElementType.BIT.bytesPerVector(dims);
        float[][] table = new float[positions * 256][];
        for (int p = 0; p < positions; p++) {
            table[p * 256] = new float[paddedCount];
            for (int v = 1; v < 256; v++) {
                float[] without = table[p * 256 + (v & (v - 1))];
                int k = 8 * p + 7 - Integer.numberOfTrailingZeros(v); // bit 7 − b of byte p is dimension 8p + b
                float[] row = without.clone();
                if (k < dims) { // padding bits beyond dims are never set
                    for (int i = 0; i < paddedCount; i++) {
                        row[i] += rows[k][i];
                    }
                }
                table[p * 256 + v] = row;
            }
        }
        return table;
    }

    /** A new scorer for one thread. */
    public MaxSimScorer scorer() {
        return new MaxSimScorer(this);
    }

    public int dims() {
        return dims;
    }

    public int queryVectors() {
        return vectors.length;
    }

    public ElementType type() {
        return type;
    }

    /** A copy of query vector {@code i}. */
    public float[] vector(int i) {
        return vectors[i].clone();
    }

    int paddedCount() {
        return paddedCount;
    }

    float[][] rows() {
        return rows;
    }

    float[][] bitRows() {
        return bitRows;
    }

    float total(int i) {
        return totals[i];
    }
}
