package io.embedder.core.pooling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class PoolingTest {

    private static final String ALLOWED =
        "[cls, mean, max, min, mean_sqrt_len, weighted_mean, last_token, none, all]";

    @Test
    void idsInDeclarationOrder() {
        assertEquals(
            List.of("cls", "mean", "max", "min", "mean_sqrt_len", "weighted_mean", "last_token", "none", "all"),
            Arrays.stream(Pooling.values()).map(Pooling::id).toList());
        assertEquals(ALLOWED, Pooling.allowed());
    }

    @ParameterizedTest
    @EnumSource(Pooling.class)
    void fromIdRoundTrips(Pooling p) {
        assertSame(p, Pooling.fromId(p.id()));
    }

    @ParameterizedTest
    @EnumSource(Pooling.class)
    void fromIdIsCaseInsensitive(Pooling p) {
        assertSame(p, Pooling.fromId(p.id().toUpperCase(java.util.Locale.ROOT)));
    }

    @Test
    void fromIdUpperCaseCls() {
        assertSame(Pooling.CLS, Pooling.fromId("CLS"));
        assertSame(Pooling.MEAN_SQRT_LEN, Pooling.fromId("Mean_Sqrt_Len"));
    }

    @Test
    void fromIdUnknown() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Pooling.fromId("avg"));
        assertEquals("unknown pooling [avg]; allowed: " + ALLOWED, e.getMessage());
        assertEquals(
            "unknown pooling [avg]; allowed: [cls, mean, max, min, mean_sqrt_len, weighted_mean, last_token, none, all]",
            e.getMessage());
    }

    @Test
    void fromIdNull() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Pooling.fromId(null));
        assertEquals("unknown pooling [null]; allowed: " + ALLOWED, e.getMessage());
    }

    @ParameterizedTest
    @EnumSource(Pooling.class)
    void outputRankIsTwoOnlyForNone(Pooling p) {
        assertEquals(p == Pooling.NONE ? 2 : 3, p.outputRank());
    }

    @ParameterizedTest
    @EnumSource(Pooling.class)
    void reducesTokensExceptNoneAndAll(Pooling p) {
        assertEquals(p != Pooling.NONE && p != Pooling.ALL, p.reducesTokens());
    }
}
