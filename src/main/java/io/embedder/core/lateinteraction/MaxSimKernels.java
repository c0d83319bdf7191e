package io.embedder.core.lateinteraction;

import java.util.Arrays;
import java.util.Random;

/**
 * Picks the MaxSim kernel once per JVM: the Panama kernel when {@code jdk.incubator.vector} is in the boot layer
 * (OpenSearch's {@code jvm.options} adds it, for Lucene) and the kernel loads and gives exactly the plain Java kernel's
 * bits on a self-check; the plain Java kernel otherwise. The Panama class is loaded by name only, so a JVM without the
 * module never links it.
 */
final class MaxSimKernels {

    static final String PANAMA_CLASS = "io.embedder.core.lateinteraction.PanamaMaxSimKernel";

    /** The kernel, and why the plain Java one runs (null when the Panama one does). */
    record Selection(MaxSimKernel kernel, String fallbackReason) {}

    static final Selection SELECTED = select();

    private MaxSimKernels() {}

    private static Selection select() {
        MaxSimKernel java = new JavaMaxSimKernel();
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return new Selection(java, "jdk.incubator.vector is not enabled (--add-modules jdk.incubator.vector)");
        }
        try {
            MaxSimKernel panama = (MaxSimKernel) Class.forName(PANAMA_CLASS, true, MaxSimKernels.class.getClassLoader())
                .getDeclaredConstructor().newInstance();
            String mismatch = selfCheck(panama, java);
            return mismatch == null ? new Selection(panama, null) : new Selection(java, "the panama kernel failed its self-check: " + mismatch);
        } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
            return new Selection(java, "the panama kernel did not load: " + e);
        }
    }

    /**
     * Runs both kernels on every storage type and a few shapes (tails of document vectors and of query registers
     * included); null when every result has the same bits, else the first difference.
     */
    static String selfCheck(MaxSimKernel candidate, MaxSimKernel reference) {
        Random random = new Random(7);
        int lanes = candidate.queryPadding();  // shapes around the padding: partial and whole registers
        for (int[] shape : new int[][] {{5, 7, 37}, {lanes + 3, 9, 64}, {2 * lanes, 4, 3}, {3 * lanes - 1, 13, 19}}) {
            int queryVectors = shape[0], docVectors = shape[1], dims = shape[2];
            float[][] query = gaussian(random, queryVectors, dims);
            for (ElementType type : ElementType.values()) {
                byte[] doc = TokenVectors.encode(type, gaussian(random, docVectors, dims));
                float[] expected = run(reference, query, type, doc, lanes);
                float[] actual = run(candidate, query, type, doc, lanes);
                for (int i = 0; i < queryVectors; i++) {
                    if (Float.floatToIntBits(expected[i]) != Float.floatToIntBits(actual[i])) {
                        return type + " " + Arrays.toString(shape) + " query vector " + i + ": " + actual[i] + " instead of " + expected[i];
                    }
                }
            }
        }
        return null;
    }

    private static float[] run(MaxSimKernel kernel, float[][] query, ElementType type, byte[] doc, int pad) {
        int dims = query[0].length;
        PreparedQuery prepared = new PreparedQuery(query, type, pad);
        float[] best = new float[prepared.paddedCount()];
        Arrays.fill(best, Float.NEGATIVE_INFINITY);
        MaxSimScorer.fold(kernel, prepared, doc, 0, doc.length, best, new float[kernel.scratchRows()][Math.max(prepared.paddedCount(), dims)]);
        return best;
    }

    private static float[][] gaussian(Random random, int n, int dims) {
        float[][] out = new float[n][dims];
        for (float[] v : out) {
            for (int k = 0; k < dims; k++) {
                v[k] = (float) random.nextGaussian();
            }
        }
        return out;
    }
}
