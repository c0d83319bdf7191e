package io.embedder.core.pooling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class VectorOpsTest {

    @Test
    void l2NormalizeThreeFour() {
        // norm = sqrt(9 + 16) = 5 -> (3/5, 4/5)
        float[] v = {3f, 4f};
        VectorOps.l2Normalize(v);
        assertArrayEquals(new float[] {0.6f, 0.8f}, v, 1e-6f);
    }

    @Test
    void l2NormalizeZeroStaysZero() {
        float[] v = {0f, 0f, 0f};
        VectorOps.l2Normalize(v);
        assertArrayEquals(new float[] {0f, 0f, 0f}, v, 0f);
    }

    @Test
    void l2NormalizeEmptyIsNoOp() {
        float[] v = {};
        VectorOps.l2Normalize(v);
        assertEquals(0, v.length);
    }

    @Test
    void cosineOrthogonal() {
        assertEquals(0.0, VectorOps.cosine(new float[] {1f, 0f}, new float[] {0f, 1f}), 0.0);
    }

    @Test
    void cosineParallel() {
        // dot = 2 + 8 + 18 = 28; |a| = sqrt(14), |b| = sqrt(56); sqrt(14 * 56) = 28 -> 1
        assertEquals(1.0, VectorOps.cosine(new float[] {1f, 2f, 3f}, new float[] {2f, 4f, 6f}), 1e-12);
    }

    @Test
    void cosineOpposite() {
        assertEquals(-1.0, VectorOps.cosine(new float[] {1f, 2f}, new float[] {-3f, -6f}), 1e-12);
    }

    @Test
    void cosineOfZeroVectorIsZero() {
        assertEquals(0.0, VectorOps.cosine(new float[] {0f, 0f}, new float[] {1f, 2f}), 0.0);
    }

    @Test
    void cosineDimensionMismatch() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> VectorOps.cosine(new float[] {1f, 2f}, new float[] {1f, 2f, 3f}));
        assertEquals("vector dimensions differ: 2 != 3", e.getMessage());
    }

    @Test
    void truncateTooLong() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> VectorOps.truncate(new float[] {1f, 2f, 3f, 4f}, 5));
        assertEquals("cannot truncate a vector of 4 dimensions to 5", e.getMessage());
    }

    @Test
    void truncateToZero() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> VectorOps.truncate(new float[] {1f, 2f, 3f, 4f}, 0));
        assertEquals("cannot truncate a vector of 4 dimensions to 0", e.getMessage());
    }

    @Test
    void truncateToSameLengthReturnsSameArray() {
        float[] v = {1f, 2f, 3f, 4f};
        assertSame(v, VectorOps.truncate(v, 4));
    }

    @Test
    void truncateCopiesPrefix() {
        float[] v = {1f, 2f, 3f, 4f};
        float[] t = VectorOps.truncate(v, 2);
        assertNotSame(v, t);
        assertArrayEquals(new float[] {1f, 2f}, t, 0f);
        assertArrayEquals(new float[] {1f, 2f, 3f, 4f}, v, 0f);
    }
}
