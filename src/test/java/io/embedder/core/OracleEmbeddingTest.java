package io.embedder.core;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.embedder.core.pooling.VectorOps;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The core embedder against golden vectors of an independent implementation (transformers.js on the same ONNX and
 * tokenizer files): ../shared/data/oracle for bge-small and MiniLM, src/test/resources/oracle for e5-small (made by
 * tools/oracle). Texts go in one batch, so padding and length-sorted batching are exercised too.
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
    @CsvSource({
        "bge-small-en-v1.5, shared, oracle/bge-small-en-v1.5.cls.maxlen512.json, ",
        "all-MiniLM-L6-v2, shared, oracle/all-MiniLM-L6-v2.mean.maxlen256.json, ",
        "e5-small-v2, resources, src/test/resources/oracle/e5-small-v2.mean.maxlen512.query.json, query",
        "e5-small-v2, resources, src/test/resources/oracle/e5-small-v2.mean.maxlen512.passage.json, document",
    })
    void matchesIndependentImplementation(String model, String where, String file, String role) {
        TestData.assumeModel(model);
        JsonObject oracle = TestData.json(where.equals("shared") ? TestData.shared(file) : Path.of(file));
        List<String> texts = new ArrayList<>();
        List<float[]> expected = new ArrayList<>();
        for (JsonElement e : oracle.getAsJsonArray("sentences")) {
            texts.add(e.getAsJsonObject().get("text").getAsString());
            expected.add(TestData.floats(e.getAsJsonObject().getAsJsonArray("embedding")));
        }
        Embeddings result = embedder.embed(model, EmbedParams.embed(texts, role == null ? null : Role.fromId(role)));
        assertEquals(texts.size(), result.vectors().size());
        for (int i = 0; i < texts.size(); i++) {
            double cosine = VectorOps.cosine(expected.get(i), result.vectors().get(i));
            assertTrue(cosine >= 0.9999, model + " text " + i + " cosine " + cosine);
        }
    }
}
