package io.embedder.core.lateinteraction;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.apache.lucene.document.LateInteractionField;
import org.apache.lucene.util.BytesRef;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class MaxSimScorerTest {

    private static float score(float[][] query, ElementType type, float[][] doc) {
        byte[] bytes = TokenVectors.encode(type, doc);
        return new MaxSimScorer(query, type).score(bytes, 0, bytes.length);
    }

    /** By hand: q1·d = (1, 0, 0.5) → 1; q2·d = (0, 2, −1) → 2; MaxSim = 3. */
    @Test
    void handComputedFloat() {
        float[][] query = {{1, 0}, {0, 1}};
        float[][] doc = {{1, 0}, {0, 2}, {0.5f, -1}};
        assertEquals(3f, score(query, ElementType.FLOAT, doc), 0f);
    }

    /** Bits of (0.3, −0.2, 0, 0.9) are +,−,−,+; each reads ±½; with q = (2, 1, 0, 3): 2·½ − 1·½ − 0·½ + 3·½ = 2. */
    @Test
    void handComputedBit() {
        assertEquals(2f, score(new float[][] {{2, 1, 0, 3}}, ElementType.BIT, new float[][] {{0.3f, -0.2f, 0f, 0.9f}}), 1e-6f);
    }

    /** scale = 0.5 / 127; 0.5 → 127, −0.25 → −63 (−63.5 rounds up), so d ≈ (0.5, −0.248031); q·d with q = (2, 4). */
    @Test
    void handComputedByte() {
        float scale = 0.5f / 127f;
        float expected = 2 * 127 * scale + 4 * -63 * scale;
        assertEquals(expected, score(new float[][] {{2, 4}}, ElementType.BYTE, new float[][] {{0.5f, -0.25f}}), 1e-6f);
    }

    @Test
    void floatLayoutIsLucenesLateInteractionField() {
        float[][] doc = {{1.5f, -2f, 3f}, {0f, 0.25f, -7f}};
        BytesRef lucene = LateInteractionField.encode(doc);
        assertArrayEquals(Arrays.copyOfRange(lucene.bytes, lucene.offset, lucene.offset + lucene.length), TokenVectors.encode(ElementType.FLOAT, doc));
    }

    @Test
    void storageSizes() {
        float[][] doc = new float[10][384];
        assertEquals(4 + 10 * 1536, TokenVectors.encode(ElementType.FLOAT, doc).length);
        assertEquals(4 + 10 * 388, TokenVectors.encode(ElementType.BYTE, doc).length);
        assertEquals(4 + 10 * 48, TokenVectors.encode(ElementType.BIT, doc).length);
    }

    @Test
    void rejectsMismatchedDims() {
        byte[] bytes = TokenVectors.encode(ElementType.FLOAT, new float[][] {{1, 2, 3}});
        MaxSimScorer scorer = new MaxSimScorer(new float[][] {{1, 2}}, ElementType.FLOAT);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> scorer.score(bytes, 0, bytes.length));
        assertEquals("stored token vectors have 3 dimensions, the query has 2", e.getMessage());
        IllegalArgumentException cut = assertThrows(IllegalArgumentException.class,
            () -> new MaxSimScorer(new float[][] {{1, 2, 3}}, ElementType.FLOAT).score(bytes, 0, bytes.length - 1));
        assertEquals("stored token vectors of 15 bytes are not whole float vectors of 3 dimensions", cut.getMessage());
    }

    @Test
    void rejectsBadQueries() {
        assertEquals("a late-interaction query needs at least one vector",
            assertThrows(IllegalArgumentException.class, () -> new MaxSimScorer(new float[0][], ElementType.FLOAT)).getMessage());
        assertEquals("query vector [1] has 1 dimensions, but vector [0] has 2",
            assertThrows(IllegalArgumentException.class, () -> new MaxSimScorer(new float[][] {{1, 2}, {3}}, ElementType.FLOAT)).getMessage());
        assertEquals("query vector [0] holds a value that is not finite: [NaN]",
            assertThrows(IllegalArgumentException.class, () -> new MaxSimScorer(new float[][] {{Float.NaN}}, ElementType.BIT)).getMessage());
    }

    /** Float MaxSim equals a plain double-precision loop over the same vectors. */
    @Property(tries = 200)
    void floatMatchesNaiveLoop(@ForAll @IntRange(min = 1, max = 8) int queryVectors, @ForAll @IntRange(min = 1, max = 20) int docVectors,
                               @ForAll @IntRange(min = 1, max = 70) int dims, @ForAll long seed) {
        Random random = new Random(seed);
        float[][] q = random(random, queryVectors, dims);
        float[][] d = random(random, docVectors, dims);
        assertEquals(naive(q, d), score(q, ElementType.FLOAT, d), 1e-4 * queryVectors * dims);
    }

    /** byte storage: each decoded component within half a quantization step of the original. */
    @Property(tries = 200)
    void byteDecodesWithinHalfAStep(@ForAll @IntRange(min = 1, max = 70) int dims, @ForAll long seed) {
        float[][] d = random(new Random(seed), 3, dims);
        byte[] bytes = TokenVectors.encode(ElementType.BYTE, d);
        float[] out = new float[dims];
        for (int v = 0; v < 3; v++) {
            TokenVectors.decode(ElementType.BYTE, bytes, 0, dims, v, out);
            float maxAbs = 0;
            for (float x : d[v]) {
                maxAbs = Math.max(maxAbs, Math.abs(x));
            }
            for (int j = 0; j < dims; j++) {
                assertEquals(d[v][j], out[j], maxAbs / 127f / 2 + 1e-6f);
            }
        }
    }

    /** bit storage: MaxSim equals the naive loop over the sign vectors scaled to unit length. */
    @Property(tries = 200)
    void bitMatchesSignVectors(@ForAll @IntRange(min = 1, max = 6) int queryVectors, @ForAll @IntRange(min = 1, max = 10) int docVectors,
                               @ForAll @IntRange(min = 1, max = 70) int dims, @ForAll long seed) {
        Random random = new Random(seed);
        float[][] q = random(random, queryVectors, dims);
        float[][] d = random(random, docVectors, dims);
        float[][] signs = new float[docVectors][dims];
        for (int v = 0; v < docVectors; v++) {
            for (int j = 0; j < dims; j++) {
                signs[v][j] = (float) ((d[v][j] > 0 ? 1 : -1) / Math.sqrt(dims));
            }
        }
        assertEquals(naive(q, signs), score(q, ElementType.BIT, d), 1e-4 * queryVectors * dims);
    }

    /** A scorer reused over documents of growing and shrinking size gives each document its own score. */
    @Property(tries = 50)
    void reuseAcrossDocuments(@ForAll long seed) {
        Random random = new Random(seed);
        float[][] q = random(random, 4, 16);
        for (ElementType type : ElementType.values()) {
            MaxSimScorer scorer = new MaxSimScorer(q, type);
            for (int n : new int[] {3, 40, 1, 17}) {
                float[][] d = random(random, n, 16);
                byte[] bytes = TokenVectors.encode(type, d);
                byte[] padded = new byte[bytes.length + 7];
                System.arraycopy(bytes, 0, padded, 5, bytes.length);
                assertEquals(score(q, type, d), scorer.score(padded, 5, bytes.length), 0f);
            }
        }
    }

    @Test
    void nonNegativeTransform() {
        MaxSimScorer scorer = new MaxSimScorer(new float[][] {{1}, {1}, {1}}, ElementType.FLOAT);
        assertEquals(3f, scorer.nonNegative(3f), 0f);
        assertEquals(1.5f, scorer.nonNegative(0f), 0f);
        assertEquals(0f, scorer.nonNegative(-3f), 0f);
        assertEquals(0f, scorer.nonNegative(-5f), 0f);
    }

    private static float[][] random(Random random, int n, int dims) {
        float[][] out = new float[n][dims];
        for (float[] v : out) {
            for (int j = 0; j < dims; j++) {
                v[j] = (float) random.nextGaussian();
            }
        }
        return out;
    }

    private static double naive(float[][] q, float[][] d) {
        double sum = 0;
        for (float[] qi : q) {
            double max = Double.NEGATIVE_INFINITY;
            for (float[] dj : d) {
                double dot = 0;
                for (int k = 0; k < qi.length; k++) {
                    dot += (double) qi[k] * dj[k];
                }
                max = Math.max(max, dot);
            }
            sum += max;
        }
        return sum;
    }
}
