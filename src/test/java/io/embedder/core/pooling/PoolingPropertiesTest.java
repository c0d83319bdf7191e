package io.embedder.core.pooling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Property tests for {@link PoolingKernels} and {@link VectorOps}. */
class PoolingPropertiesTest {

    private static final List<Pooling> REDUCING =
        Arrays.stream(Pooling.values()).filter(Pooling::reducesTokens).toList();

    /** One row of token states: hidden is [seq, dim], mask is [seq] with at least one real token. */
    record Row(int seq, int dim, float[] hidden, long[] mask) {
        int count() {
            int c = 0;
            for (long m : mask) {
                if (m != 0) {
                    c++;
                }
            }
            return c;
        }

        @Override
        public String toString() {
            return "Row[seq=" + seq + ", dim=" + dim + ", mask=" + Arrays.toString(mask)
                + ", hidden=" + Arrays.toString(hidden) + "]";
        }
    }

    /** A row plus noise: values to put in its padding, extra padding to append and prepend, and another row. */
    record Padded(Row row, float[] paddingNoise, int appended, float[] appendedNoise, int prepended,
                  float[] prependedNoise, float[] otherRow) {
        @Override
        public String toString() {
            return "Padded[" + row + ", paddingNoise=" + Arrays.toString(paddingNoise) + ", appended=" + appended
                + ", appendedNoise=" + Arrays.toString(appendedNoise) + ", prepended=" + prepended
                + ", prependedNoise=" + Arrays.toString(prependedNoise) + ", otherRow=" + Arrays.toString(otherRow)
                + "]";
        }
    }

    // ---------------------------------------------------------------- generators

    private static Arbitrary<float[]> values(int n) {
        return Arbitraries.floats().between(-10f, 10f).ofScale(4).array(float[].class).ofSize(n);
    }

    /** Anything at all, including NaN and infinities: padding must never be read. */
    private static Arbitrary<float[]> noise(int n) {
        Arbitrary<Float> any = Arbitraries.oneOf(
            Arbitraries.floats().between(-1e6f, 1e6f),
            Arbitraries.of(Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MAX_VALUE,
                -Float.MAX_VALUE, 1000f, -1000f));
        return any.array(float[].class).ofSize(n);
    }

    private static Arbitrary<long[]> masks(int seq) {
        Arbitrary<long[]> right = Arbitraries.integers().between(1, seq).map(real -> {
            long[] m = new long[seq];
            Arrays.fill(m, 0, real, 1L);
            return m;
        });
        Arbitrary<long[]> left = Arbitraries.integers().between(1, seq).map(real -> {
            long[] m = new long[seq];
            Arrays.fill(m, seq - real, seq, 1L);
            return m;
        });
        Arbitrary<long[]> scattered = Combinators.combine(
            Arbitraries.of(0L, 1L).array(long[].class).ofSize(seq),
            Arbitraries.integers().between(0, seq - 1)).as((bits, forced) -> {
                long[] m = bits.clone();
                m[forced] = 1L; // at least one real token
                return m;
            });
        return Arbitraries.oneOf(right, left, scattered);
    }

    @Provide
    Arbitrary<Row> rows() {
        return Arbitraries.integers().between(1, 16).flatMap(seq ->
            Arbitraries.integers().between(1, 8).flatMap(dim ->
                Combinators.combine(values(seq * dim), masks(seq)).as((h, m) -> new Row(seq, dim, h, m))));
    }

    @Provide
    Arbitrary<Padded> padded() {
        return rows().flatMap(row -> Arbitraries.integers().between(1, 8).flatMap(appended ->
            Arbitraries.integers().between(1, 8).flatMap(prepended ->
                Combinators.combine(
                    noise(row.seq() * row.dim()),
                    noise(appended * row.dim()),
                    noise(prepended * row.dim()),
                    values(row.seq() * row.dim()))
                    .as((pn, an, prn, other) -> new Padded(row, pn, appended, an, prepended, prn, other)))));
    }

    /** A row whose only real token sits at a random position. */
    @Provide
    Arbitrary<Row> singleTokenRows() {
        return Arbitraries.integers().between(1, 16).flatMap(seq ->
            Arbitraries.integers().between(1, 8).flatMap(dim ->
                Combinators.combine(values(seq * dim), Arbitraries.integers().between(0, seq - 1)).as((h, pos) -> {
                    long[] m = new long[seq];
                    m[pos] = 1L;
                    return new Row(seq, dim, h, m);
                })));
    }

    @Provide
    Arbitrary<float[]> nonZeroVectors() {
        return Arbitraries.integers().between(1, 64).flatMap(PoolingPropertiesTest::values)
            .filter(v -> norm(v) > 0);
    }

    @Provide
    Arbitrary<float[]> zeroVectors() {
        return Arbitraries.integers().between(0, 64).map(float[]::new);
    }

    /** A vector of 1..64 components and a valid Matryoshka size k in [1, length]. */
    record Sized(float[] v, int k) {
        @Override
        public String toString() {
            return "Sized[k=" + k + ", v=" + Arrays.toString(v) + "]";
        }
    }

    @Provide
    Arbitrary<Sized> truncations() {
        return Arbitraries.integers().between(1, 64).flatMap(n ->
            Combinators.combine(values(n), Arbitraries.integers().between(1, n)).as(Sized::new));
    }

    @Provide
    Arbitrary<Sized> invalidTruncations() {
        return Arbitraries.integers().between(1, 64).flatMap(n ->
            Combinators.combine(values(n), Arbitraries.oneOf(
                Arbitraries.integers().between(-100, 0),
                Arbitraries.integers().between(n + 1, n + 100))).as(Sized::new));
    }

    // ---------------------------------------------------------------- helpers

    private static float[] pool(Pooling p, float[] hidden, long[] mask, int b, int seq, int dim) {
        float[] out = new float[dim];
        Arrays.fill(out, Float.NaN);
        PoolingKernels.pool(p, hidden, mask, b, seq, dim, out);
        return out;
    }

    private static float[] pool(Pooling p, Row row) {
        return pool(p, row.hidden().clone(), row.mask().clone(), 0, row.seq(), row.dim());
    }

    private static double norm(float[] v) {
        double s = 0;
        for (float x : v) {
            s += (double) x * x;
        }
        return Math.sqrt(s);
    }

    // ---------------------------------------------------------------- padding invariance

    @Property(tries = 200)
    void paddingValuesNeverMatter(@ForAll("padded") Padded c) {
        Row row = c.row();
        float[] hidden = row.hidden().clone();
        for (int t = 0; t < row.seq(); t++) {
            if (row.mask()[t] == 0) {
                System.arraycopy(c.paddingNoise(), t * row.dim(), hidden, t * row.dim(), row.dim());
            }
        }
        for (Pooling p : REDUCING) {
            assertArrayEquals(pool(p, row), pool(p, hidden, row.mask().clone(), 0, row.seq(), row.dim()), p.id());
        }
    }

    @Property(tries = 200)
    void appendedPaddingNeverMatters(@ForAll("padded") Padded c) {
        Row row = c.row();
        int dim = row.dim();
        int seq2 = row.seq() + c.appended();
        float[] hidden = new float[seq2 * dim];
        System.arraycopy(row.hidden(), 0, hidden, 0, row.seq() * dim);
        System.arraycopy(c.appendedNoise(), 0, hidden, row.seq() * dim, c.appended() * dim);
        long[] mask = Arrays.copyOf(row.mask(), seq2); // new positions are 0: padding
        for (Pooling p : REDUCING) {
            assertArrayEquals(pool(p, row), pool(p, hidden, mask, 0, seq2, dim), p.id());
        }
    }

    @Property(tries = 200)
    void prependedPaddingNeverMatters(@ForAll("padded") Padded c) {
        Row row = c.row();
        int dim = row.dim();
        int pre = c.prepended();
        int seq2 = row.seq() + pre;
        float[] hidden = new float[seq2 * dim];
        System.arraycopy(c.prependedNoise(), 0, hidden, 0, pre * dim);
        System.arraycopy(row.hidden(), 0, hidden, pre * dim, row.seq() * dim);
        long[] mask = new long[seq2];
        System.arraycopy(row.mask(), 0, mask, pre, row.seq());
        for (Pooling p : REDUCING) {
            assertArrayEquals(pool(p, row), pool(p, hidden, mask, 0, seq2, dim), p.id());
        }
    }

    /** Pooling row 1 of a batch of two gives what pooling that row alone gives, whatever row 0 holds. */
    @Property(tries = 200)
    void rowOffsetInBatch(@ForAll("padded") Padded c) {
        Row row = c.row();
        int n = row.seq() * row.dim();
        float[] hidden = new float[2 * n];
        System.arraycopy(c.otherRow(), 0, hidden, 0, n);
        System.arraycopy(row.hidden(), 0, hidden, n, n);
        long[] mask = new long[2 * row.seq()];
        Arrays.fill(mask, 0, row.seq(), 1L);
        System.arraycopy(row.mask(), 0, mask, row.seq(), row.seq());
        for (Pooling p : REDUCING) {
            assertArrayEquals(pool(p, row), pool(p, hidden, mask, 1, row.seq(), row.dim()), p.id());
        }
    }

    // ---------------------------------------------------------------- arithmetic

    @Property(tries = 200)
    void meanIsSumOverCount(@ForAll("rows") Row row) {
        int count = row.count();
        float[] mean = pool(Pooling.MEAN, row);
        float[] meanSqrtLen = pool(Pooling.MEAN_SQRT_LEN, row);
        for (int d = 0; d < row.dim(); d++) {
            double sum = 0;
            for (int t = 0; t < row.seq(); t++) {
                if (row.mask()[t] != 0) {
                    sum += row.hidden()[t * row.dim() + d];
                }
            }
            double expected = sum / count;
            assertEquals(expected, mean[d], 1e-5 * Math.max(1, Math.abs(expected)), "mean dim " + d);
            double expectedSqrt = (double) mean[d] * Math.sqrt(count);
            assertEquals(expectedSqrt, meanSqrtLen[d], 1e-5 * Math.max(1, Math.abs(expectedSqrt)),
                "mean_sqrt_len dim " + d);
        }
    }

    @Property(tries = 200)
    void weightedMeanUsesPositionsAmongRealTokens(@ForAll("rows") Row row) {
        float[] wm = pool(Pooling.WEIGHTED_MEAN, row);
        for (int d = 0; d < row.dim(); d++) {
            double acc = 0;
            double weights = 0;
            int position = 0;
            for (int t = 0; t < row.seq(); t++) {
                if (row.mask()[t] != 0) {
                    position++;
                    acc += position * (double) row.hidden()[t * row.dim() + d];
                    weights += position;
                }
            }
            double expected = acc / weights;
            assertEquals(expected, wm[d], 1e-5 * Math.max(1, Math.abs(expected)), "dim " + d);
        }
    }

    @Property(tries = 200)
    void minLeMeanLeMax(@ForAll("rows") Row row) {
        float[] min = pool(Pooling.MIN, row);
        float[] max = pool(Pooling.MAX, row);
        for (Pooling p : List.of(Pooling.MEAN, Pooling.WEIGHTED_MEAN, Pooling.CLS, Pooling.LAST_TOKEN)) {
            float[] v = pool(p, row);
            for (int d = 0; d < row.dim(); d++) {
                assertTrue(min[d] <= v[d] && v[d] <= max[d],
                    p.id() + " dim " + d + ": " + min[d] + " <= " + v[d] + " <= " + max[d]);
            }
        }
    }

    @Property(tries = 200)
    void minAndMaxAreAttainedByRealTokens(@ForAll("rows") Row row) {
        float[] min = pool(Pooling.MIN, row);
        float[] max = pool(Pooling.MAX, row);
        for (int d = 0; d < row.dim(); d++) {
            float lo = Float.POSITIVE_INFINITY;
            float hi = Float.NEGATIVE_INFINITY;
            for (int t = 0; t < row.seq(); t++) {
                if (row.mask()[t] != 0) {
                    lo = Math.min(lo, row.hidden()[t * row.dim() + d]);
                    hi = Math.max(hi, row.hidden()[t * row.dim() + d]);
                }
            }
            assertEquals(lo, min[d], 0f, "min dim " + d);
            assertEquals(hi, max[d], 0f, "max dim " + d);
        }
    }

    @Property(tries = 200)
    void clsAndLastTokenPickFirstAndLastRealToken(@ForAll("rows") Row row) {
        int first = -1;
        int last = -1;
        for (int t = 0; t < row.seq(); t++) {
            if (row.mask()[t] != 0) {
                if (first < 0) {
                    first = t;
                }
                last = t;
            }
        }
        int dim = row.dim();
        assertArrayEquals(Arrays.copyOfRange(row.hidden(), first * dim, (first + 1) * dim), pool(Pooling.CLS, row));
        assertArrayEquals(Arrays.copyOfRange(row.hidden(), last * dim, (last + 1) * dim),
            pool(Pooling.LAST_TOKEN, row));
    }

    @Property(tries = 200)
    void singleRealTokenIsReturnedByEveryStrategy(@ForAll("singleTokenRows") Row row) {
        int pos = PoolingKernels.firstReal(row.mask(), 0, row.seq());
        float[] token = Arrays.copyOfRange(row.hidden(), pos * row.dim(), (pos + 1) * row.dim());
        for (Pooling p : REDUCING) {
            assertArrayEquals(token, pool(p, row), p.id()); // exact: x/1, x/sqrt(1), 1*x/1
        }
    }

    // ---------------------------------------------------------------- l2 normalization

    @Property(tries = 200)
    void l2NormalizeGivesUnitNorm(@ForAll("nonZeroVectors") float[] v) {
        float[] n = v.clone();
        VectorOps.l2Normalize(n);
        assertEquals(1.0, norm(n), 1e-5);
    }

    @Property(tries = 200)
    void l2NormalizeIsIdempotent(@ForAll("nonZeroVectors") float[] v) {
        float[] once = v.clone();
        VectorOps.l2Normalize(once);
        float[] twice = once.clone();
        VectorOps.l2Normalize(twice);
        assertArrayEquals(once, twice, 1e-6f);
    }

    @Property(tries = 200)
    void l2NormalizeKeepsDirection(@ForAll("nonZeroVectors") float[] v) {
        float[] n = v.clone();
        VectorOps.l2Normalize(n);
        assertTrue(VectorOps.cosine(v, n) >= 1 - 1e-6, () -> "cosine " + VectorOps.cosine(v, n));
        for (int i = 0; i < v.length; i++) {
            // no sign flips
            assertTrue(Math.signum(v[i]) == Math.signum(n[i]) || n[i] == 0f, "component " + i);
        }
    }

    @Property(tries = 200)
    void l2NormalizeKeepsZeroVectorsZero(@ForAll("zeroVectors") float[] v) {
        VectorOps.l2Normalize(v);
        for (float x : v) {
            assertFalse(Float.isNaN(x));
            assertEquals(0f, x, 0f);
        }
    }

    // ---------------------------------------------------------------- Matryoshka truncation

    @Property(tries = 200)
    void truncateThenNormalizeEqualsNormalizeTruncateNormalize(@ForAll("truncations") Sized s) {
        // truncate returns v itself when k == v.length, and l2Normalize works in place: work on copies
        float[] direct = VectorOps.truncate(s.v().clone(), s.k());
        VectorOps.l2Normalize(direct);

        float[] full = s.v().clone();
        VectorOps.l2Normalize(full);
        float[] viaFull = VectorOps.truncate(full, s.k());
        VectorOps.l2Normalize(viaFull);

        assertEquals(s.k(), direct.length);
        assertArrayEquals(direct, viaFull, 1e-6f);
    }

    @Property(tries = 200)
    void truncateKeepsThePrefix(@ForAll("truncations") Sized s) {
        float[] original = s.v().clone();
        float[] t = VectorOps.truncate(s.v(), s.k());
        assertArrayEquals(Arrays.copyOf(original, s.k()), t);
        assertArrayEquals(original, s.v()); // the source is not modified
    }

    @Property(tries = 200)
    void truncateToFullLengthReturnsSameArray(@ForAll("nonZeroVectors") float[] v) {
        assertSame(v, VectorOps.truncate(v, v.length));
    }

    @Property(tries = 200)
    void truncateRejectsInvalidSizes(@ForAll("invalidTruncations") Sized s) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> VectorOps.truncate(s.v(), s.k()));
        assertEquals("cannot truncate a vector of " + s.v().length + " dimensions to " + s.k(), e.getMessage());
    }
}
