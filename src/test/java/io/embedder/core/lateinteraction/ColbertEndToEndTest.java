package io.embedder.core.lateinteraction;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.embedder.core.EmbedParams;
import io.embedder.core.Embedder;
import io.embedder.core.Role;
import io.embedder.core.Task;
import io.embedder.core.TestData;
import io.embedder.core.pooling.VectorOps;
import io.embedder.core.runtime.LoadedModel;
import io.embedder.core.runtime.Truncation;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real path of a ColBERT-style model (no ColBERT checkpoint is available here): bge-small-en-v1.5's real ONNX
 * graph and tokenizer in PyLate's layout, with a synthetic Dense projection 384 → 96 (seeded Gaussian). Checked against
 * the independent implementation's raw token states of bge-small ({@code oracle/bge-small-en-v1.5.tokens.json}),
 * projected and normalized here in double precision.
 */
class ColbertEndToEndTest {

    private static final int OUT = 96;
    private static float[][] weight;
    private static Embedder embedder;

    @BeforeAll
    static void open() throws IOException {
        TestData.assumeModel("bge-small-en-v1.5");
        Random random = new Random(11);
        weight = new float[OUT][384];
        for (float[] row : weight) {
            for (int k = 0; k < row.length; k++) {
                row[k] = (float) (random.nextGaussian() / Math.sqrt(384));
            }
        }
        Path models = Files.createTempDirectory("colbert-models");
        // no markers, no expansion: its document tokens are bge-small's own tokens, comparable with the oracle
        ColbertDirs.write(models.resolve("plain"), "{\"query_prefix\": \"\", \"document_prefix\": \"\", \"do_query_expansion\": false}", weight, true);
        String marked = "{\"query_prefix\": \"[unused0]\", \"document_prefix\": \"[unused1]\", \"query_length\": 32, \"document_length\": 180";
        ColbertDirs.write(models.resolve("marked"), marked + "}", weight, true);
        ColbertDirs.write(models.resolve("marked-attend"), marked + ", \"attend_to_expansion_tokens\": true}", weight, true);
        ColbertDirs.write(models.resolve("marked-plain-query"), marked + ", \"do_query_expansion\": false}", weight, true);
        embedder = new Embedder(models, new LoadedModel.Limits(16, 4096, 1, Long.MAX_VALUE, 2), Path.of("target/djl-cache"));
    }

    @AfterAll
    static void close() {
        if (embedder != null) {
            embedder.close();
        }
    }

    private static float[][] tokens(String model, Role role, TokenOptions options, String text) {
        return embedder.embed(model, new EmbedParams(List.of(text), Task.TOKEN_EMBED, role, null, null, Truncation.MODEL_DEFAULT, options))
            .tokens().get(0);
    }

    /** The oracle's 12 states ([CLS] the quick … dog . [SEP]) minus "." (the skiplist), each projected and normalized. */
    @Test
    void documentTokensAreTheModelsStatesProjected() {
        JsonObject oracle = TestData.json(TestData.shared("oracle/bge-small-en-v1.5.tokens.json"));
        JsonArray states = oracle.getAsJsonArray("last_hidden_state");
        float[][] doc = tokens("plain", Role.DOCUMENT, TokenOptions.DEFAULT, oracle.get("text").getAsString());
        assertEquals(11, doc.length);
        assertEquals(OUT, doc[0].length);
        int out = 0;
        for (int t = 0; t < states.size(); t++) {
            if (t == 10) {
                continue; // "."
            }
            float[] expected = projectedUnit(TestData.floats(states.get(t).getAsJsonArray()));
            double cosine = VectorOps.cosine(expected, doc[out]);
            assertTrue(cosine >= 0.9999, "token " + t + ": cosine " + cosine);
            assertEquals(1, VectorOps.cosine(doc[out], doc[out]), 1e-6);
            out++;
        }
        // pooled: [CLS] kept, the other 10 into 5 clusters
        assertEquals(6, tokens("plain", Role.DOCUMENT, new TokenOptions(null, null, 2), oracle.get("text").getAsString()).length);
    }

    /** Unattended [MASK] expansions leave the real tokens' states as they are without them; attended, they change them. */
    @Test
    void queryAugmentation() {
        String query = "a quick brown fox";
        float[][] expanded = tokens("marked", Role.QUERY, TokenOptions.DEFAULT, query);
        float[][] plain = tokens("marked-plain-query", Role.QUERY, TokenOptions.DEFAULT, query);
        float[][] attended = tokens("marked-attend", Role.QUERY, TokenOptions.DEFAULT, query);
        assertEquals(32, expanded.length);
        assertEquals(32, attended.length);
        assertEquals(7, plain.length); // [CLS] [unused0] a quick brown fox [SEP]
        double lowest = 1;
        for (int t = 0; t < plain.length; t++) {
            double cosine = VectorOps.cosine(plain[t], expanded[t]);
            assertTrue(cosine >= 0.99999, "token " + t + ": cosine " + cosine);
            lowest = Math.min(lowest, VectorOps.cosine(plain[t], attended[t]));
        }
        assertTrue(lowest < 0.999, "attending to 25 [MASK] tokens must change the states: lowest cosine " + lowest);
    }

    /** MaxSim over these vectors ranks the document about foxes above an unrelated one, for every storage type. */
    @Test
    void maxSimRanksTheRelevantDocumentFirst() {
        float[][] query = tokens("marked", Role.QUERY, TokenOptions.DEFAULT, "a fast fox leaping over a dog");
        float[][] fox = tokens("marked", Role.DOCUMENT, TokenOptions.DEFAULT, "The quick brown fox jumps over the lazy dog.");
        float[][] stocks = tokens("marked", Role.DOCUMENT, TokenOptions.DEFAULT, "Stock markets fell sharply on Tuesday after the report.");
        for (ElementType type : ElementType.values()) {
            MaxSimScorer scorer = new MaxSimScorer(query, type);
            byte[] a = TokenVectors.encode(type, fox);
            byte[] b = TokenVectors.encode(type, stocks);
            float relevant = scorer.score(a, 0, a.length);
            float unrelated = scorer.score(b, 0, b.length);
            assertTrue(relevant > unrelated, type + ": " + relevant + " vs " + unrelated);
        }
    }

    private static float[] projectedUnit(float[] state) {
        double[] y = new double[OUT];
        double norm = 0;
        for (int o = 0; o < OUT; o++) {
            for (int k = 0; k < state.length; k++) {
                y[o] += (double) weight[o][k] * state[k];
            }
            norm += y[o] * y[o];
        }
        float[] out = new float[OUT];
        for (int o = 0; o < OUT; o++) {
            out[o] = (float) (y[o] / Math.sqrt(norm));
        }
        return out;
    }
}
