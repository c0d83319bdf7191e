package io.embedder.it;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.embedder.core.lateinteraction.TestTensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A ColBERT-style model directory in PyLate's layout dropped into the running node (no ColBERT checkpoint is available
 * here: bge-small-en-v1.5's graph and tokenizer, hard-linked, with a synthetic Dense projection 384 → 96), through the
 * models API and {@code _embed}; and the MaxSim kernel the node runs.
 */
class ColbertIT {

    private static final String MODEL = "it-colbert";
    private static Path dir;

    @BeforeAll
    static void dropModel() throws IOException {
        Path models = Node.modelsDir();
        assumeTrue(models != null, "tests.node.models not given");
        dir = Files.createDirectories(models.resolve(MODEL));
        for (String f : List.of("model.onnx", "tokenizer.json")) {
            Files.createLink(dir.resolve(f), models.resolve("bge-small-en-v1.5").resolve(f)); // hard links: no copy
        }
        Files.writeString(dir.resolve("config_sentence_transformers.json"), "{\"prompts\": {}, \"similarity_fn_name\": \"MaxSim\", "
            + "\"query_prefix\": \"[unused0]\", \"document_prefix\": \"[unused1]\", \"query_length\": 32, \"document_length\": 180, "
            + "\"attend_to_expansion_tokens\": false, \"do_query_expansion\": true}");
        Files.writeString(dir.resolve("sentence_bert_config.json"), "{\"max_seq_length\": 179}");
        Files.writeString(dir.resolve("modules.json"), "[{\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": \"sentence_transformers.models.Transformer\"}, "
            + "{\"idx\": 1, \"name\": \"1\", \"path\": \"1_Dense\", \"type\": \"pylate.models.Dense.Dense\"}]");
        Random random = new Random(5);
        float[][] w = new float[96][384];
        for (float[] row : w) {
            for (int k = 0; k < row.length; k++) {
                row[k] = (float) random.nextGaussian();
            }
        }
        TestTensors.dense(dir.resolve("1_Dense"), w, null, "torch.nn.modules.linear.Identity");
    }

    @AfterAll
    static void removeModel() throws IOException {
        if (dir != null) {
            try (var files = Files.walk(dir)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    @Test
    void modelsApiShowsTheColbertSettingsWithTheirSources() {
        Node.Response r = Node.get("/_plugins/_embedder/models/" + MODEL);
        assertEquals(200, r.status(), String.valueOf(r.body()));
        JsonObject m = r.object();
        assertEquals("all", m.get("pooling").getAsString());
        assertEquals(96, m.get("dimensions").getAsInt());
        assertEquals("1_Dense/config.json out_features", m.getAsJsonObject("sources").get("dimensions").getAsString());
        JsonObject colbert = m.getAsJsonObject("colbert");
        assertEquals("[unused0]", colbert.get("query_prefix").getAsString());
        assertEquals(32, colbert.get("query_length").getAsInt());
        assertEquals("default (PyLate: string.punctuation)", colbert.getAsJsonObject("sources").get("skiplist_words").getAsString());
        assertEquals(384, colbert.getAsJsonArray("projections").get(0).getAsJsonObject().get("in_features").getAsInt());
    }

    @Test
    void queriesAndDocumentsThroughEmbed() {
        Node.Response q = Node.embed(MODEL, Map.of("texts", List.of("a fast fox"), "task", "token_embed", "role", "query"));
        assertEquals(200, q.status(), String.valueOf(q.body()));
        assertEquals(96, q.object().get("dimensions").getAsInt());
        JsonArray query = q.object().getAsJsonArray("embeddings").get(0).getAsJsonArray();
        assertEquals(32, query.size()); // [CLS] [unused0] a fast fox [SEP] + 26 [MASK]
        assertEquals(96, query.get(0).getAsJsonArray().size());
        String doc = "The quick brown fox jumps over the lazy dog.";
        Node.Response d = Node.embed(MODEL, Map.of("texts", List.of(doc), "task", "token_embed", "role", "document"));
        assertEquals(200, d.status(), String.valueOf(d.body()));
        assertEquals(12, d.object().getAsJsonArray("embeddings").get(0).getAsJsonArray().size()); // [CLS] [unused1] 9 words [SEP]
        Node.Response pooled = Node.embed(MODEL, Map.of("texts", List.of(doc), "task", "token_embed", "role", "document", "pool_factor", 2));
        assertEquals(200, pooled.status(), String.valueOf(pooled.body()));
        assertEquals(6, pooled.object().getAsJsonArray("embeddings").get(0).getAsJsonArray().size()); // [CLS] + 11 into 5 clusters
        Node.Response noRole = Node.embed(MODEL, Map.of("texts", List.of("x"), "task", "token_embed"));
        assertEquals(400, noRole.status());
        assertEquals("model [it-colbert] is ColBERT-style: task [token_embed] needs [role] [query] or [document] (queries and documents "
            + "get different markers and lengths)", noRole.reason());
    }

    /** The node runs with --add-modules jdk.incubator.vector (its jvm.options): the Panama MaxSim kernel is loaded. */
    @Test
    void theNodeRunsThePanamaKernel() {
        String kernel = Node.localStats(Node.base()).get("late_interaction_kernel").getAsString();
        assertTrue(kernel.startsWith("panama ("), kernel);
    }
}
