package io.embedder.core.pooling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Hand-computed pooling over a fixed batch [batch=2, seq=4, dim=3].
 *
 * <p>Row 0 is right-padded (mask 1,1,1,0), row 1 is left-padded (mask 0,1,1,1). Padding positions hold
 * +-1000 so that any leak into any strategy (including max / min in either direction) shows up.
 */
class PoolingKernelsTest {

    private static final int BATCH = 2;
    private static final int SEQ = 4;
    private static final int DIM = 3;
    private static final float EPS = 1e-6f;

    private static final float[] HIDDEN = {
        // row 0
        1f, 2f, 3f,            // t0 real
        4f, -5f, 6f,           // t1 real
        -7f, 8f, 0.5f,         // t2 real
        1000f, -1000f, 1000f,  // t3 padding
        // row 1
        -1000f, 1000f, -1000f, // t0 padding
        2f, 0f, -4f,           // t1 real
        6f, -3f, 1f,           // t2 real
        -2f, 9f, 5f,           // t3 real
    };

    private static final long[] MASK = {
        1, 1, 1, 0, // row 0: right padding
        0, 1, 1, 1, // row 1: left padding
    };

    private static float[] pool(Pooling pooling, int b) {
        float[] out = new float[DIM];
        Arrays.fill(out, Float.NaN); // the kernel must overwrite every component
        PoolingKernels.pool(pooling, HIDDEN.clone(), MASK.clone(), b, SEQ, DIM, out);
        return out;
    }

    @Test
    void cls() {
        // row 0: first real token is t0
        assertArrayEquals(new float[] {1f, 2f, 3f}, pool(Pooling.CLS, 0), EPS);
        // row 1: first real token is t1 (t0 is left padding)
        assertArrayEquals(new float[] {2f, 0f, -4f}, pool(Pooling.CLS, 1), EPS);
    }

    @Test
    void lastToken() {
        // row 0: last real token is t2 (t3 is right padding)
        assertArrayEquals(new float[] {-7f, 8f, 0.5f}, pool(Pooling.LAST_TOKEN, 0), EPS);
        // row 1: last real token is t3
        assertArrayEquals(new float[] {-2f, 9f, 5f}, pool(Pooling.LAST_TOKEN, 1), EPS);
    }

    @Test
    void mean() {
        // row 0: sum = (1+4-7, 2-5+8, 3+6+0.5) = (-2, 5, 9.5); / 3 = (-0.6666667, 1.6666666, 3.1666667)
        assertArrayEquals(new float[] {-0.6666667f, 1.6666666f, 3.1666667f}, pool(Pooling.MEAN, 0), EPS);
        // row 1: sum = (2+6-2, 0-3+9, -4+1+5) = (6, 6, 2); / 3 = (2, 2, 0.6666667)
        assertArrayEquals(new float[] {2f, 2f, 0.6666667f}, pool(Pooling.MEAN, 1), EPS);
    }

    @Test
    void max() {
        // row 0: (max(1,4,-7), max(2,-5,8), max(3,6,0.5)) = (4, 8, 6)  [a leak would give 1000 in dims 0 and 2]
        assertArrayEquals(new float[] {4f, 8f, 6f}, pool(Pooling.MAX, 0), EPS);
        // row 1: (max(2,6,-2), max(0,-3,9), max(-4,1,5)) = (6, 9, 5)  [a leak would give 1000 in dim 1]
        assertArrayEquals(new float[] {6f, 9f, 5f}, pool(Pooling.MAX, 1), EPS);
    }

    @Test
    void min() {
        // row 0: (min(1,4,-7), min(2,-5,8), min(3,6,0.5)) = (-7, -5, 0.5)  [a leak would give -1000 in dim 1]
        assertArrayEquals(new float[] {-7f, -5f, 0.5f}, pool(Pooling.MIN, 0), EPS);
        // row 1: (min(2,6,-2), min(0,-3,9), min(-4,1,5)) = (-2, -3, -4)  [a leak would give -1000 in dims 0, 2]
        assertArrayEquals(new float[] {-2f, -3f, -4f}, pool(Pooling.MIN, 1), EPS);
    }

    @Test
    void meanSqrtLen() {
        // row 0: sum (-2, 5, 9.5) / sqrt(3) (=1.7320508) = (-1.1547005, 2.8867513, 5.4848276)
        assertArrayEquals(new float[] {-1.1547005f, 2.8867513f, 5.4848276f}, pool(Pooling.MEAN_SQRT_LEN, 0), EPS);
        // row 1: sum (6, 6, 2) / sqrt(3) = (3.4641016, 3.4641016, 1.1547005)
        assertArrayEquals(new float[] {3.4641016f, 3.4641016f, 1.1547005f}, pool(Pooling.MEAN_SQRT_LEN, 1), EPS);
    }

    @Test
    void weightedMean() {
        // row 0: weights 1,2,3 on t0,t1,t2; sum of weights 6
        //   dim0: 1*1 + 2*4 + 3*(-7)  = 1 + 8 - 21   = -12  -> -2
        //   dim1: 1*2 + 2*(-5) + 3*8  = 2 - 10 + 24  = 16   -> 2.6666667
        //   dim2: 1*3 + 2*6 + 3*0.5   = 3 + 12 + 1.5 = 16.5 -> 2.75
        assertArrayEquals(new float[] {-2f, 2.6666667f, 2.75f}, pool(Pooling.WEIGHTED_MEAN, 0), EPS);
        // row 1: weights 1,2,3 on t1,t2,t3 (position among real tokens, not absolute index); sum 6
        //   dim0: 1*2 + 2*6 + 3*(-2)    = 2 + 12 - 6  = 8  -> 1.3333334
        //   dim1: 1*0 + 2*(-3) + 3*9    = 0 - 6 + 27  = 21 -> 3.5
        //   dim2: 1*(-4) + 2*1 + 3*5    = -4 + 2 + 15 = 13 -> 2.1666667
        assertArrayEquals(new float[] {1.3333334f, 3.5f, 2.1666667f}, pool(Pooling.WEIGHTED_MEAN, 1), EPS);
    }

    @Test
    void inputsAreNotModified() {
        float[] hidden = HIDDEN.clone();
        long[] mask = MASK.clone();
        for (Pooling p : Pooling.values()) {
            if (!p.reducesTokens()) {
                continue;
            }
            for (int b = 0; b < BATCH; b++) {
                PoolingKernels.pool(p, hidden, mask, b, SEQ, DIM, new float[DIM]);
            }
        }
        assertArrayEquals(HIDDEN, hidden);
        assertArrayEquals(MASK, mask);
    }

    @Test
    void firstAndLastReal() {
        assertEquals(0, PoolingKernels.firstReal(MASK, 0, SEQ));
        assertEquals(2, PoolingKernels.lastReal(MASK, 0, SEQ));
        assertEquals(1, PoolingKernels.firstReal(MASK, 1, SEQ));
        assertEquals(3, PoolingKernels.lastReal(MASK, 1, SEQ));
        long[] empty = {1, 1, 0, 0, 0, 0};
        assertEquals(-1, PoolingKernels.firstReal(empty, 1, 3));
        assertEquals(-1, PoolingKernels.lastReal(empty, 1, 3));
    }

    @Test
    void noneDoesNotReduce() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> PoolingKernels.pool(Pooling.NONE, HIDDEN.clone(), MASK.clone(), 0, SEQ, DIM, new float[DIM]));
        assertEquals("pooling [none] does not reduce token states to one vector", e.getMessage());
    }

    @Test
    void allDoesNotReduce() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> PoolingKernels.pool(Pooling.ALL, HIDDEN.clone(), MASK.clone(), 0, SEQ, DIM, new float[DIM]));
        assertEquals("pooling [all] does not reduce token states to one vector", e.getMessage());
    }

    @Test
    void rowWithoutRealTokenIsRejectedByEveryStrategy() {
        long[] mask = {1, 1, 1, 0, 0, 0, 0, 0};
        for (Pooling p : Pooling.values()) {
            if (!p.reducesTokens()) {
                continue;
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PoolingKernels.pool(p, HIDDEN.clone(), mask, 1, SEQ, DIM, new float[DIM]), p.id());
            assertEquals("row [1] has no real token", e.getMessage(), p.id());
        }
    }

    @Test
    void tooShortHiddenIsRejected() {
        float[] shortHidden = Arrays.copyOf(HIDDEN, BATCH * SEQ * DIM - 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> PoolingKernels.pool(Pooling.MEAN, shortHidden, MASK.clone(), 1, SEQ, DIM, new float[DIM]));
        assertEquals("tensor shapes do not match [seq=4, dim=3]", e.getMessage());
    }

    @Test
    void tooShortMaskIsRejected() {
        long[] shortMask = Arrays.copyOf(MASK, BATCH * SEQ - 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> PoolingKernels.pool(Pooling.MEAN, HIDDEN.clone(), shortMask, 1, SEQ, DIM, new float[DIM]));
        assertEquals("tensor shapes do not match [seq=4, dim=3]", e.getMessage());
    }

    @Test
    void wrongOutputLengthIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> PoolingKernels.pool(Pooling.CLS, HIDDEN.clone(), MASK.clone(), 0, SEQ, DIM, new float[DIM + 1]));
        assertEquals("tensor shapes do not match [seq=4, dim=3]", e.getMessage());
    }
}
