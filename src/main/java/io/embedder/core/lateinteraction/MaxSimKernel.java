package io.embedder.core.lateinteraction;

/**
 * The inner loops of MaxSim over one document, on the transposed query rows of {@link PreparedQuery}
 * ({@code rows[k][i] = q_i[k]}, {@code P} = the padded query count): each folds the document's best dot product per
 * query vector into {@code best[i]} ({@code i < P}) with {@code Math.max}. Every implementation computes each dot
 * product in the same order (one multiply-add per dimension, dimension 0 first, fused when {@link #FMA}; for bit
 * storage one addition per stored byte, first byte first), so all give the same bits: a document's score does not
 * depend on the kernel a node runs. {@link MaxSimKernels} picks the fastest that works on this JVM.
 */
interface MaxSimKernel {

    /** Multiply-adds are fused (one rounding) where the hardware does it fast: Lucene's own test of the CPU. */
    boolean FMA = org.apache.lucene.util.Constants.HAS_FAST_VECTOR_FMA;

    /** What runs, for reports: e.g. {@code panama (512-bit vectors, fma)}. */
    String description();

    /** The query's vector count is padded with zero vectors to a multiple of this. */
    int queryPadding();

    /** Rows of the {@code scratch} the loops need, each {@code max(P, dims)} long (allocated once by the caller). */
    int scratchRows();

    /**
     * float storage: {@code best[i] = max(best[i], max_j Σ_k rows[k][i] · x_jk)} over {@code n} vectors of
     * {@code dims} little-endian float32 stored from {@code bytes[at]}.
     */
    void floatMax(float[][] rows, int paddedCount, byte[] bytes, int at, int n, float[] best, float[][] scratch);

    /**
     * byte storage, vectors of a float32 scale then {@code dims} int8 codes: as {@link #floatMax} with the dot product
     * {@code scale_j × Σ_k rows[k][i] · code_jk}.
     */
    void byteMax(float[][] rows, int paddedCount, byte[] bytes, int at, int n, float[] best, float[][] scratch);

    /**
     * bit storage: {@code best[i] = max(best[i], max_j Σ_p bitRows[p·256 + byte_jp][i])} over {@code n} vectors of
     * {@code bytesPerVector} bytes from {@code bytes[at]} (the caller turns that sum into the dot product).
     */
    void bitMax(float[][] bitRows, int paddedCount, int bytesPerVector, byte[] bytes, int at, int n, float[] best, float[][] scratch);
}
