package io.embedder.it;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.embedder.core.Oracle;
import io.embedder.core.TestData;
import io.embedder.core.pooling.VectorOps;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code _embed} and the models API through a real node with the plugin zip (all three models) installed. */
class EmbedApiIT {

    @AfterEach
    void nodeStaysUp() {
        Node.Response health = Node.get("/_cluster/health");
        assertEquals(200, health.status());
        assertTrue(List.of("green", "yellow").contains(health.object().get("status").getAsString()), health.body().toString());
    }

    @ParameterizedTest
    @MethodSource("io.embedder.core.Oracle#cases")
    void goldenVectorsFromAnIndependentImplementation(String model, String file, String role) {
        Oracle oracle = Oracle.read(file);
        // all texts in one request: short, unicode, empty, punctuation-only and over the model's limit, padded together
        List<float[]> actual = Node.embedAll(model, oracle.texts(), role, oracle.texts().size());
        for (int i = 0; i < oracle.texts().size(); i++) {
            double cosine = VectorOps.cosine(oracle.vectors().get(i), actual.get(i));
            assertTrue(cosine >= 0.9999, model + " text " + i + " (" + oracle.texts().get(i).length() + " chars): cosine " + cosine);
        }
    }

    @Test
    void miniLmUsesItsOwnLimitNotTheTokenizerFiles() {
        // the jar's tokenizer.json truncates at 128; sentence-transformers uses 256, and so do we
        JsonObject oracle128 = TestData.json(TestData.shared("oracle/all-MiniLM-L6-v2.mean.maxlen128.json"));
        JsonObject longest = oracle128.getAsJsonArray("sentences").get(8).getAsJsonObject();
        float[] at128 = Node.floats(longest.getAsJsonArray("embedding"));
        float[] ours = Node.embedAll("all-MiniLM-L6-v2", List.of(longest.get("text").getAsString()), null, 1).get(0);
        assertTrue(VectorOps.cosine(at128, ours) < 0.999, "the 128-token vector must differ from the 256-token one");

        JsonObject minilm = model("all-MiniLM-L6-v2");
        assertEquals(256, minilm.get("max_tokens").getAsInt());
        assertEquals(128, minilm.get("tokenizer_max_length").getAsInt());
        assertEquals("embedder-model.json", minilm.getAsJsonObject("sources").get("max_tokens").getAsString());
    }

    @Test
    void modelsApiShowsEachSettingAndItsSource() {
        Node.Response r = Node.get("/_plugins/_embedder/models");
        assertEquals(200, r.status());
        assertEquals("bge-small-en-v1.5", r.object().get("default_model").getAsString());
        JsonObject bge = model("bge-small-en-v1.5");
        assertEquals("cls", bge.get("pooling").getAsString());
        assertEquals(true, bge.get("normalize").getAsBoolean());
        assertEquals(384, bge.get("dimensions").getAsInt());
        assertEquals(512, bge.get("max_tokens").getAsInt());
        assertEquals("embedder-model.json", bge.getAsJsonObject("sources").get("pooling").getAsString());
        JsonObject e5 = model("e5-small-v2");
        assertEquals("mean", e5.get("pooling").getAsString());
        assertEquals("query: ", e5.getAsJsonObject("prompts").get("query").getAsString());
        assertEquals("passage: ", e5.getAsJsonObject("prompts").get("document").getAsString());
        Node.Response one = Node.get("/_plugins/_embedder/models/e5-small-v2");
        assertEquals(200, one.status());
        assertEquals("e5-small-v2", one.object().get("name").getAsString());
    }

    /** One vector per token of the text: the raw states without [CLS] and [SEP] (kept with drop_special_tokens false). */
    @Test
    void tokenEmbedReturnsOneVectorPerTokenOfTheText() {
        JsonObject tokens = TestData.json(TestData.shared("oracle/bge-small-en-v1.5.tokens.json"));
        String text = tokens.get("text").getAsString();
        var expected = tokens.getAsJsonArray("last_hidden_state");
        Node.Response r = Node.embed("bge-small-en-v1.5", Map.of("texts", List.of(text, "Hello world!"), "task", "token_embed", "normalize", false));
        assertEquals(200, r.status(), r.body().toString());
        var perText = r.object().getAsJsonArray("embeddings");
        assertEquals(expected.size() - 2, perText.get(0).getAsJsonArray().size());
        assertEquals(3, perText.get(1).getAsJsonArray().size());
        for (int t = 1; t < expected.size() - 1; t++) {
            double cosine = VectorOps.cosine(Node.floats(expected.get(t).getAsJsonArray()), Node.floats(perText.get(0).getAsJsonArray().get(t - 1).getAsJsonArray()));
            assertTrue(cosine >= 0.9999, "token " + t + ": cosine " + cosine);
        }
        Node.Response all = Node.embed("bge-small-en-v1.5", Map.of("texts", List.of(text), "task", "token_embed", "normalize", false,
            "drop_special_tokens", false, "drop_punctuation", true));
        assertEquals(200, all.status(), all.body().toString());
        var kept = all.object().getAsJsonArray("embeddings").get(0).getAsJsonArray();
        assertEquals(expected.size() - 1, kept.size()); // [CLS] the quick brown fox jumps over the lazy dog [SEP]: "." dropped
        assertTrue(VectorOps.cosine(Node.floats(expected.get(0).getAsJsonArray()), Node.floats(kept.get(0).getAsJsonArray())) >= 0.9999);
        assertTrue(VectorOps.cosine(Node.floats(expected.get(11).getAsJsonArray()), Node.floats(kept.get(10).getAsJsonArray())) >= 0.9999);
    }

    @Test
    void badInputIsAPreciseClientError() {
        assertError(Node.embed("nope", Map.of("texts", List.of("a"))), 404, "resource_not_found_exception",
            "model [nope] not found; available: [all-MiniLM-L6-v2, bge-small-en-v1.5, e5-small-v2]");
        assertError(Node.embed("..", Map.of("texts", List.of("a"))), 400, "illegal_argument_exception",
            "invalid model name [..]: letters, digits, '.', '_' and '-' only, not starting with '.' or '-' (a model is a directory "
                + "directly under the models directory)");
        assertError(Node.embed("bge-small-en-v1.5", Map.of("texts", List.of("a"), "dimensions", 128)), 400, "illegal_argument_exception",
            "[dimensions] [128]: model [bge-small-en-v1.5] is not declared Matryoshka (no matryoshka_dimensions in its embedder-model.json); "
                + "omit [dimensions] or use 384");
        assertError(Node.embed("bge-small-en-v1.5", Map.of("texts", List.of("a"), "task", "token_embed", "dimensions", 128)), 400,
            "illegal_argument_exception", "parameter [dimensions] is not accepted by task [token_embed]; it accepts [texts, task, role, "
                + "normalize, truncate_prompt_tokens, drop_special_tokens, drop_punctuation, pool_factor]");
        assertError(Node.embed("bge-small-en-v1.5", Map.of("texts", List.of("a"), "task", "token_embed", "pool_factor", 2)), 400,
            "illegal_argument_exception", "[pool_factor] [2] pools documents only: use [role] [document] or omit [pool_factor]");
        assertError(Node.embed("bge-small-en-v1.5", Map.of("texts", List.of("a"), "pooling", "mean")), 400, "illegal_argument_exception",
            "unknown parameter [pooling] for task [embed]; it accepts [texts, task, role, normalize, dimensions, truncate_prompt_tokens]");
        assertError(Node.embed("bge-small-en-v1.5", Map.of("texts", List.of("a", 7))), 400, "illegal_argument_exception",
            "[texts][1] must be a string, got number [7]");
        assertError(Node.post("/_plugins/_embedder/models/bge-small-en-v1.5/_embed", "{\"texts\": [\"a\""), 400, null, null);
        assertError(Node.embed("bge-small-en-v1.5", Map.of("texts", List.of("a b c d e f"), "truncate_prompt_tokens", 511)), 400,
            "illegal_argument_exception", "[texts][0]: truncate_prompt_tokens [511] exceeds the [510] content tokens the model's "
                + "max_tokens [512] leaves beside its special tokens");
    }

    @Test
    void brokenModelDirectoriesAreClientErrorsAndTheRestKeepsWorking() throws Exception {
        Path models = Node.modelsDir();
        assumeTrue(models != null, "tests.node.models not given");
        Path broken = Files.createDirectories(models.resolve("it-broken-onnx"));
        Path unsettled = Files.createDirectories(models.resolve("it-no-pooling"));
        try {
            Files.copy(models.resolve("bge-small-en-v1.5/tokenizer.json"), broken.resolve("tokenizer.json"));
            Files.writeString(broken.resolve("model.onnx"), "not an onnx graph");
            Files.writeString(broken.resolve("embedder-model.json"), "{\"pooling\": \"cls\", \"normalize\": true, \"max_tokens\": 512}");
            Files.copy(models.resolve("bge-small-en-v1.5/tokenizer.json"), unsettled.resolve("tokenizer.json"));
            Files.writeString(unsettled.resolve("model.onnx"), "x");

            Node.Response r = Node.embed("it-broken-onnx", Map.of("texts", List.of("a")));
            assertEquals(400, r.status(), r.body().toString());
            assertTrue(r.reason().startsWith("model [it-broken-onnx]: cannot load ONNX file [model.onnx]: "), r.reason());
            assertError(Node.embed("it-no-pooling", Map.of("texts", List.of("a"))), 400, "status_exception",
                "model [it-no-pooling]: the pooling is not settled: no modules.json, no 1_Pooling/config.json and no [pooling] in embedder-model.json");
            // the listing shows the broken model with its error, and the others as usual
            Node.Response list = Node.get("/_plugins/_embedder/models");
            assertEquals(200, list.status());
            assertEquals("model [it-no-pooling]: the pooling is not settled: no modules.json, no 1_Pooling/config.json and no [pooling] in "
                + "embedder-model.json", model("it-no-pooling").get("error").getAsString());
            assertEquals(1, Node.embedAll("bge-small-en-v1.5", List.of("still fine"), null, 1).size());
        } finally {
            deleteTree(broken);
            deleteTree(unsettled);
        }
    }

    @Test
    void unknownPoolingAndMissingFilesAreClientErrors() throws Exception {
        Path models = Node.modelsDir();
        assumeTrue(models != null, "tests.node.models not given");
        Path tokenizer = models.resolve("bge-small-en-v1.5/tokenizer.json");
        Path unknownPooling = Files.createDirectories(models.resolve("it-unknown-pooling"));
        Path noTokenizer = Files.createDirectories(models.resolve("it-no-tokenizer"));
        Path noOnnx = Files.createDirectories(models.resolve("it-no-onnx"));
        try {
            Files.copy(tokenizer, unknownPooling.resolve("tokenizer.json"));
            Files.writeString(unknownPooling.resolve("model.onnx"), "x");
            Files.writeString(unknownPooling.resolve("embedder-model.json"), "{\"pooling\": \"avg\", \"normalize\": true}");
            Files.writeString(noTokenizer.resolve("model.onnx"), "x");
            Files.writeString(noTokenizer.resolve("embedder-model.json"), "{\"pooling\": \"mean\", \"normalize\": true, \"max_tokens\": 8}");
            Files.copy(tokenizer, noOnnx.resolve("tokenizer.json"));
            Files.writeString(noOnnx.resolve("embedder-model.json"), "{\"pooling\": \"mean\", \"normalize\": true, \"max_tokens\": 8}");

            assertError(Node.embed("it-unknown-pooling", Map.of("texts", List.of("a"))), 400, null,
                "model [it-unknown-pooling]: embedder-model.json unknown pooling [avg]; allowed: [cls, mean, max, min, mean_sqrt_len, "
                    + "weighted_mean, last_token, none, all]");
            assertError(Node.embed("it-no-tokenizer", Map.of("texts", List.of("a"))), 400, null,
                "model [it-no-tokenizer]: tokenizer.json is missing");
            assertError(Node.embed("it-no-onnx", Map.of("texts", List.of("a"))), 400, null,
                "model [it-no-onnx]: no ONNX file: expected onnx/model.onnx, model.onnx or [onnx_file] in embedder-model.json");
            assertEquals(1, Node.embedAll("bge-small-en-v1.5", List.of("still fine"), null, 1).size());
        } finally {
            deleteTree(unknownPooling);
            deleteTree(noTokenizer);
            deleteTree(noOnnx);
        }
    }

    @Test
    void aModelRemovedWhileTheNodeRunsGivesErrorsNotACrash() throws Exception {
        Path models = Node.modelsDir();
        assumeTrue(models != null, "tests.node.models not given");
        Path dir = Files.createDirectories(models.resolve("it-removable"));
        try {
            for (String f : List.of("model.onnx", "tokenizer.json", "embedder-model.json")) {
                Files.createLink(dir.resolve(f), models.resolve("bge-small-en-v1.5").resolve(f)); // hard links: no copy
            }
            assertEquals(1, Node.embedAll("it-removable", List.of("loaded"), null, 1).size());
            deleteTree(dir);
            // a loaded model keeps serving from memory until the node restarts; the listing shows what is on disk
            assertEquals(1, Node.embedAll("it-removable", List.of("still served"), null, 1).size());
            assertEquals(404, Node.get("/_plugins/_embedder/models/it-removable").status());
        } finally {
            if (Files.exists(dir)) {
                deleteTree(dir);
            }
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static JsonObject model(String name) {
        for (JsonElement m : Node.get("/_plugins/_embedder/models").object().getAsJsonArray("models")) {
            if (m.getAsJsonObject().get("name").getAsString().equals(name)) {
                return m.getAsJsonObject();
            }
        }
        throw new AssertionError("model " + name + " not listed");
    }

    private static void assertError(Node.Response r, int status, String type, String reason) {
        assertEquals(status, r.status(), String.valueOf(r.body()));
        if (type != null) {
            assertEquals(type, r.type());
        }
        if (reason != null) {
            assertEquals(reason, r.reason());
        }
    }

}
