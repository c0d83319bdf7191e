package io.embedder.core;

import io.embedder.core.pooling.VectorOps;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The core embedder against the golden vectors of {@link Oracle}. Texts go in one batch, so padding and
 * length-sorted batching are exercised too.
 */
class OracleEmbeddingTest {

    private static Embedder embedder;

    @BeforeAll
    static void open() {
        embedder = TestData.embedder();
    }

    @AfterAll
    static void close() {
        embedder.close();
    }

    @ParameterizedTest
    @MethodSource("io.embedder.core.Oracle#cases")
    void matchesIndependentImplementation(String model, String file, String role) {
        TestData.assumeModel(model);
        Oracle oracle = Oracle.read(file);
        Embeddings result = embedder.embed(model, EmbedParams.embed(oracle.texts(), role == null ? null : Role.fromId(role)));
        assertEquals(oracle.texts().size(), result.vectors().size());
        for (int i = 0; i < oracle.texts().size(); i++) {
            double cosine = VectorOps.cosine(oracle.vectors().get(i), result.vectors().get(i));
            assertTrue(cosine >= 0.9999, model + " text " + i + " cosine " + cosine);
        }
    }
}
