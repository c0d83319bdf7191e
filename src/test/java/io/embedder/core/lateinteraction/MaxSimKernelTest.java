package io.embedder.core.lateinteraction;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every kernel against plain reference loops, bit for bit: the same multiply-adds in the same order (dimension 0
 * first; fused when the kernels fuse), written here without transposition, padding, blocking or lookup tables.
 */
class MaxSimKernelTest {

    /** The plain Java kernel, and the Panama one (the tests run with jdk.incubator.vector, as the node does). */
    private static List<MaxSimKernel> kernels() throws ReflectiveOperationException {
        List<MaxSimKernel> kernels = new ArrayList<>();
        kernels.add(new JavaMaxSimKernel());
        kernels.add((MaxSimKernel) Class.forName(MaxSimKernels.PANAMA_CLASS).getDeclaredConstructor().newInstance());
        return kernels;
    }

    @Test
    void thePanamaKernelRunsWhereTheModuleIs() {
        assertTrue(ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent(), "surefire runs with --add-modules jdk.incubator.vector");
        assertTrue(MaxSimScorer.kernel().startsWith("panama ("), MaxSimScorer.kernel());
        assertEquals(null, MaxSimKernels.SELECTED.fallbackReason());
    }

    /** A JVM without the module never links the Panama class and scores with the plain Java kernel, the same bits. */
    @Test
    void withoutTheModuleThePlainKernelRuns() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"), KernelMain.class.getName())
            .redirectErrorStream(true).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertEquals(0, p.exitValue(), out);
        String fma = MaxSimKernel.FMA ? ", fma" : "";
        assertEquals("java (auto-vectorized loops" + fma + "): jdk.incubator.vector is not enabled (--add-modules jdk.incubator.vector)\n"
            + Float.floatToIntBits(KernelMain.score()), out);
    }

    /** Run in a child JVM by the test above. */
    public static final class KernelMain {
        public static void main(String[] args) {
            System.out.println(MaxSimScorer.kernel());
            System.out.println(Float.floatToIntBits(score()));
        }

        static float score() {
            Random random = new Random(3);
            float[][] doc = random(random, 11, 45);
            byte[] bytes = TokenVectors.encode(ElementType.FLOAT, doc);
            return new MaxSimScorer(random(random, 7, 45), ElementType.FLOAT).score(bytes, 0, bytes.length);
        }
    }

    @Test
    void selfCheckPasses() throws ReflectiveOperationException {
        for (MaxSimKernel kernel : kernels()) {
            assertEquals(null, MaxSimKernels.selfCheck(kernel, new JavaMaxSimKernel()), kernel.description());
        }
    }

    @Property(tries = 300)
    void floatEqualsReferenceBitForBit(@ForAll @IntRange(min = 1, max = 70) int queryVectors, @ForAll @IntRange(min = 1, max = 20) int docVectors,
                                       @ForAll @IntRange(min = 1, max = 70) int dims, @ForAll long seed) throws ReflectiveOperationException {
        Random random = new Random(seed);
        float[][] q = random(random, queryVectors, dims);
        float[][] d = random(random, docVectors, dims);
        byte[] bytes = TokenVectors.encode(ElementType.FLOAT, d);
        float[] expected = new float[queryVectors];
        for (int i = 0; i < queryVectors; i++) {
            expected[i] = Float.NEGATIVE_INFINITY;
            for (float[] dj : d) {
                float dot = 0;
                for (int k = 0; k < dims; k++) {
                    dot = madd(q[i][k], dj[k], dot);
                }
                expected[i] = Math.max(expected[i], dot);
            }
        }
        assertAllKernels(q, ElementType.FLOAT, bytes, expected);
    }

    @Property(tries = 300)
    void byteEqualsReferenceBitForBit(@ForAll @IntRange(min = 1, max = 70) int queryVectors, @ForAll @IntRange(min = 1, max = 20) int docVectors,
                                      @ForAll @IntRange(min = 1, max = 70) int dims, @ForAll long seed) throws ReflectiveOperationException {
        Random random = new Random(seed);
        float[][] q = random(random, queryVectors, dims);
        float[][] d = random(random, docVectors, dims);
        byte[] bytes = TokenVectors.encode(ElementType.BYTE, d);
        float[] expected = new float[queryVectors];
        for (int i = 0; i < queryVectors; i++) {
            expected[i] = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < docVectors; j++) {
                int at = TokenVectors.HEADER_BYTES + j * (4 + dims);
                float scale = Float.intBitsToFloat((bytes[at] & 0xFF) | (bytes[at + 1] & 0xFF) << 8 | (bytes[at + 2] & 0xFF) << 16 | bytes[at + 3] << 24);
                float dot = 0;
                for (int k = 0; k < dims; k++) {
                    dot = madd(q[i][k], bytes[at + 4 + k], dot);
                }
                expected[i] = Math.max(expected[i], dot * scale);
            }
        }
        assertAllKernels(q, ElementType.BYTE, bytes, expected);
    }

    /**
     * bit: S = Σ over stored bytes of (Σ of q over that byte's set dimensions, lowest dimension first), the best S per
     * query vector, then q·d = (2·S − Σ_k q_k) / √dims.
     */
    @Property(tries = 300)
    void bitEqualsReferenceBitForBit(@ForAll @IntRange(min = 1, max = 70) int queryVectors, @ForAll @IntRange(min = 1, max = 20) int docVectors,
                                     @ForAll @IntRange(min = 1, max = 70) int dims, @ForAll long seed) throws ReflectiveOperationException {
        Random random = new Random(seed);
        float[][] q = random(random, queryVectors, dims);
        float[][] d = random(random, docVectors, dims);
        byte[] bytes = TokenVectors.encode(ElementType.BIT, d);
        float unit = (float) (1 / Math.sqrt(dims));
        float[] expected = new float[queryVectors];
        for (int i = 0; i < queryVectors; i++) {
            float best = Float.NEGATIVE_INFINITY;
            for (float[] dj : d) {
                float s = 0;
                for (int p = 0; p < (dims + 7) / 8; p++) {
                    float partial = 0;
                    for (int k = 8 * p; k < Math.min(dims, 8 * p + 8); k++) {
                        if (dj[k] > 0) {
                            partial += q[i][k];
                        }
                    }
                    s += partial;
                }
                best = Math.max(best, s);
            }
            float total = 0;
            for (float x : q[i]) {
                total += x;
            }
            expected[i] = (2 * best - total) * unit;
        }
        assertAllKernels(q, ElementType.BIT, bytes, expected);
    }

    /** A value with a header and no vector scores −∞ (no vector to match), with every kernel. */
    @Test
    void noVectorsScoresNegativeInfinity() throws ReflectiveOperationException {
        byte[] empty = {3, 0, 0, 0};
        for (ElementType type : ElementType.values()) {
            assertAllKernels(new float[][] {{1, 2, 3}}, type, empty, new float[] {Float.NEGATIVE_INFINITY});
        }
    }

    /** Scores the value with each kernel through the scorer's own steps and compares best per query vector and the sum. */
    private static void assertAllKernels(float[][] q, ElementType type, byte[] bytes, float[] expectedBest) throws ReflectiveOperationException {
        float expectedSum = 0;
        for (float b : expectedBest) {
            expectedSum += b;
        }
        for (MaxSimKernel kernel : kernels()) {
            PreparedQuery query = new PreparedQuery(q, type, kernel.queryPadding());
            float[] best = new float[query.paddedCount()];
            Arrays.fill(best, Float.NEGATIVE_INFINITY);
            MaxSimScorer.fold(kernel, query, bytes, 0, bytes.length, best,
                new float[kernel.scratchRows()][Math.max(query.paddedCount(), query.dims())]);
            float[] actual = Arrays.copyOf(MaxSimScorer.toDotProducts(query, best), q.length);
            for (int i = 0; i < q.length; i++) {
                assertEquals(Float.floatToIntBits(expectedBest[i]), Float.floatToIntBits(actual[i]),
                    kernel.description() + " " + type + " query vector " + i + ": " + actual[i] + " instead of " + expectedBest[i]);
            }
        }
        MaxSimScorer scorer = new MaxSimScorer(q, type);
        assertEquals(Float.floatToIntBits(expectedSum), Float.floatToIntBits(scorer.score(bytes, 0, bytes.length)));
        assertEquals(Arrays.toString(expectedBest), Arrays.toString(scorer.lastBest()));
    }

    private static float madd(float a, float b, float c) {
        return MaxSimKernel.FMA ? Math.fma(a, b, c) : a * b + c;
    }

    static float[][] random(Random random, int n, int dims) {
        float[][] out = new float[n][dims];
        for (float[] v : out) {
            for (int j = 0; j < dims; j++) {
                v[j] = (float) random.nextGaussian();
            }
        }
        return out;
    }
}
