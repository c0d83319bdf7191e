package io.embedder.it;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code _load} and {@code _unload} on the three-node cluster ({@code -Dtests.cluster.multi}): every node loads its own
 * copy and reports the configuration it detected; a reload picks up changed files; a node without the model directory
 * fails alone. {@code -Dtests.multi.models} is the first node's models directory.
 */
class ModelLifecycleIT {

    private static final String BGE = "bge-small-en-v1.5";
    private static final String AVAILABLE = "[all-MiniLM-L6-v2, bge-small-en-v1.5, e5-small-v2]";
    private static List<String> nodes;

    @BeforeAll
    static void cluster() {
        String multi = System.getProperty("tests.cluster.multi", "");
        assumeTrue(!multi.isEmpty(), "tests.cluster.multi not given");
        nodes = new ArrayList<>();
        for (String n : multi.split(",")) {
            nodes.add("http://" + n);
        }
        Node.Response health = Node.getFrom(nodes.get(0), "/_cluster/health?wait_for_nodes=" + nodes.size() + "&timeout=120s");
        assertEquals(nodes.size(), health.object().get("number_of_nodes").getAsInt(), String.valueOf(health.body()));
    }

    private static Node.Response lifecycle(String base, String path) {
        return Node.postTo(base, "/_plugins/_embedder/" + path, "");
    }

    private static JsonObject modelStats(String base, String model) {
        return Node.localStats(base).getAsJsonObject("models").getAsJsonObject(model);
    }

    private static float[] embed(String base, String model, String text) {
        Node.Response r = Node.postTo(base, "/_plugins/_embedder/models/" + model + "/_embed", Node.json(Map.of("texts", List.of(text))));
        assertEquals(200, r.status(), String.valueOf(r.body()));
        return Node.floats(r.object().getAsJsonArray("embeddings").get(0).getAsJsonArray());
    }

    @Test
    void loadOnEveryNodeShowsTheDetectedConfigThenUnload() {
        float[] before = embed(nodes.get(0), BGE, "a warm cat");
        Node.Response loaded = lifecycle(nodes.get(nodes.size() - 1), "models/" + BGE + "/_load");
        assertEquals(200, loaded.status(), String.valueOf(loaded.body()));
        assertEquals(nodes.size(), loaded.object().getAsJsonObject("_nodes").get("successful").getAsInt());
        assertEquals(BGE, loaded.object().get("model").getAsString());
        JsonObject perNode = loaded.object().getAsJsonObject("nodes");
        assertEquals(nodes.size(), perNode.size());
        for (Map.Entry<String, JsonElement> e : perNode.entrySet()) {
            JsonObject node = e.getValue().getAsJsonObject();
            // the first node had the model in memory already (the request above): it reloads; the others may or may not
            assertTrue(Set.of("loaded", "reloaded").contains(node.get("outcome").getAsString()), node.toString());
            JsonObject config = node.getAsJsonObject("config");
            assertEquals("cls", config.get("pooling").getAsString());
            assertTrue(config.get("normalize").getAsBoolean());
            assertEquals(384, config.get("dimensions").getAsInt());
            assertEquals(512, config.get("max_tokens").getAsInt());
            assertTrue(config.get("loaded").getAsBoolean());
            assertEquals("embedder-model.json", config.getAsJsonObject("sources").get("pooling").getAsString());
            assertEquals("onnx output last_hidden_state", config.getAsJsonObject("sources").get("dimensions").getAsString());
            assertTrue(node.has("load_time_ms") && node.has("warmup_ms"), node.toString());
        }
        assertEquals("reloaded", outcomeOf(perNode, Node.localStats(nodes.get(0)).get("name").getAsString()));

        for (String base : nodes) {
            JsonObject s = modelStats(base, BGE);
            assertTrue(s.get("loaded").getAsBoolean());
            long hits = s.get("cache_hits").getAsLong();
            long misses = s.get("cache_misses").getAsLong();
            long requests = s.get("requests").getAsLong();
            // the warm-up is no request; the first real request finds the model loaded, and gives the same vector
            assertArrayEquals(before, embed(base, BGE, "a warm cat"), 1e-6f);
            JsonObject after = modelStats(base, BGE);
            assertEquals(requests + 1, after.get("requests").getAsLong());
            assertEquals(hits + 1, after.get("cache_hits").getAsLong());
            assertEquals(misses, after.get("cache_misses").getAsLong());
        }
        assertEquals(nodes.size(), Node.getFrom(nodes.get(1), "/_plugins/_embedder/stats/" + BGE).object()
            .getAsJsonObject("models").getAsJsonObject(BGE).get("loaded_on_nodes").getAsInt());

        Node.Response unloaded = lifecycle(nodes.get(1), "models/" + BGE + "/_unload");
        assertEquals(200, unloaded.status(), String.valueOf(unloaded.body()));
        for (JsonElement node : unloaded.object().getAsJsonObject("nodes").asMap().values()) {
            assertEquals("unloaded", node.getAsJsonObject().get("outcome").getAsString());
            assertFalse(node.getAsJsonObject().has("config"));
        }
        for (String base : nodes) {
            JsonObject s = modelStats(base, BGE);
            assertFalse(s.get("loaded").getAsBoolean());
            assertEquals(0, s.getAsJsonObject("memory").get("estimated_native_bytes").getAsLong());
        }
        Node.Response again = lifecycle(nodes.get(1), "models/" + BGE + "/_unload");
        for (JsonElement node : again.object().getAsJsonObject("nodes").asMap().values()) {
            assertEquals("not_loaded", node.getAsJsonObject().get("outcome").getAsString());
        }
        // the next request loads it again, on first use
        long misses = modelStats(nodes.get(0), BGE).get("cache_misses").getAsLong();
        assertArrayEquals(before, embed(nodes.get(0), BGE, "a warm cat"), 1e-6f);
        assertEquals(misses + 1, modelStats(nodes.get(0), BGE).get("cache_misses").getAsLong());
    }

    /** Requests running while the model is reloaded and unloaded on every node all succeed, with the same vector. */
    @Test
    void reloadAndUnloadUnderTraffic() throws Exception {
        float[] expected = embed(nodes.get(0), BGE, "traffic during a reload");
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.ExecutorService clients = java.util.concurrent.Executors.newFixedThreadPool(nodes.size());
        List<java.util.concurrent.Future<Integer>> runs = new ArrayList<>();
        for (String base : nodes) {
            runs.add(clients.submit(() -> {
                int n = 0;
                while (!stop.get()) {
                    assertArrayEquals(expected, embed(base, BGE, "traffic during a reload"), 1e-6f);
                    n++;
                }
                return n;
            }));
        }
        try {
            for (int i = 0; i < 2; i++) {
                Node.Response reload = lifecycle(nodes.get(i % nodes.size()), "models/" + BGE + "/_load");
                assertEquals(nodes.size(), reload.object().getAsJsonObject("_nodes").get("successful").getAsInt(), String.valueOf(reload.body()));
                Node.Response unload = lifecycle(nodes.get(i % nodes.size()), "models/" + BGE + "/_unload");
                assertEquals(nodes.size(), unload.object().getAsJsonObject("_nodes").get("successful").getAsInt(), String.valueOf(unload.body()));
            }
        } finally {
            stop.set(true);
            clients.shutdown();
        }
        int requests = 0;
        for (java.util.concurrent.Future<Integer> run : runs) {
            requests += run.get(); // rethrows a failed request
        }
        System.out.println("reload/unload under traffic: " + requests + " requests on " + nodes.size() + " nodes, all 200 and equal");
        assertTrue(requests >= nodes.size(), String.valueOf(requests));
    }

    @Test
    void errorsNameTheModel() {
        Node.Response unknown = lifecycle(nodes.get(0), "models/it-nope/_load");
        assertEquals(404, unknown.status());
        assertEquals("resource_not_found_exception", unknown.type());
        assertEquals("model [it-nope] not found; available: " + AVAILABLE, unknown.reason());
        Node.Response invalid = lifecycle(nodes.get(0), "models/.hidden/_unload");
        assertEquals(400, invalid.status());
        assertEquals("invalid model name [.hidden]: letters, digits, '.', '_' and '-' only, not starting with '.' or '-' "
            + "(a model is a directory directly under the models directory)", invalid.reason());
    }

    /** A model directory on the first node only: it loads there, and each other node fails alone with its reason. */
    @Test
    void aNodeWithoutTheModelFailsAloneAndAReloadReadsChangedFiles() throws IOException {
        Path models = modelsDir();
        Path dir = Files.createDirectories(models.resolve("it-only-here"));
        try {
            for (String f : List.of("model.onnx", "tokenizer.json")) {
                Files.createLink(dir.resolve(f), models.resolve("all-MiniLM-L6-v2").resolve(f)); // hard links: no copy
            }
            Files.writeString(dir.resolve("embedder-model.json"), "{\"pooling\": \"mean\", \"normalize\": true, \"max_tokens\": 256}");
            String first = Node.localStats(nodes.get(0)).get("name").getAsString();
            // counters live as long as the node: an earlier run's loads of this name still count
            long loadsBefore = modelStats(nodes.get(0), "it-only-here").get("loads").getAsLong();
            long failuresBefore = modelStats(nodes.get(0), "it-only-here").get("load_failures").getAsLong();

            Node.Response r = lifecycle(nodes.get(1), "models/it-only-here/_load");
            assertEquals(200, r.status(), String.valueOf(r.body()));
            JsonObject header = r.object().getAsJsonObject("_nodes");
            assertEquals(1, header.get("successful").getAsInt());
            assertEquals(nodes.size() - 1, header.get("failed").getAsInt());
            for (JsonElement f : header.getAsJsonArray("failures")) {
                JsonObject cause = f.getAsJsonObject().getAsJsonObject("caused_by");
                assertEquals("resource_not_found_exception", cause.get("type").getAsString());
                assertEquals("model [it-only-here] not found; available: " + AVAILABLE, cause.get("reason").getAsString());
            }
            assertEquals("loaded", outcomeOf(r.object().getAsJsonObject("nodes"), first));
            assertEquals("mean", configOf(r.object().getAsJsonObject("nodes"), first).get("pooling").getAsString());
            float[] mean = embed(nodes.get(0), "it-only-here", "a cat");

            // change the pooling on disk: a reload picks it up, and the vectors change with it
            Files.writeString(dir.resolve("embedder-model.json"), "{\"pooling\": \"cls\", \"normalize\": true, \"max_tokens\": 256}");
            assertArrayEquals(mean, embed(nodes.get(0), "it-only-here", "a cat"), "served from memory until reloaded");
            Node.Response reload = lifecycle(nodes.get(0), "_nodes/" + first + "/models/it-only-here/_load");
            assertEquals(1, reload.object().getAsJsonObject("_nodes").get("total").getAsInt());
            assertEquals("reloaded", outcomeOf(reload.object().getAsJsonObject("nodes"), first));
            assertEquals("cls", configOf(reload.object().getAsJsonObject("nodes"), first).get("pooling").getAsString());
            assertEquals("embedder-model.json", configOf(reload.object().getAsJsonObject("nodes"), first).getAsJsonObject("sources")
                .get("pooling").getAsString());
            assertFalse(java.util.Arrays.equals(mean, embed(nodes.get(0), "it-only-here", "a cat")));
            JsonObject s = modelStats(nodes.get(0), "it-only-here");
            assertEquals(loadsBefore + 2, s.get("loads").getAsLong());
            assertEquals(failuresBefore, s.get("load_failures").getAsLong());
        } finally {
            lifecycle(nodes.get(0), "models/it-only-here/_unload");
            deleteTree(dir);
        }
    }

    private static Path modelsDir() {
        String dir = System.getProperty("tests.multi.models", "");
        assumeTrue(!dir.isEmpty(), "tests.multi.models not given");
        return Path.of(dir);
    }

    private static String outcomeOf(JsonObject perNode, String nodeName) {
        return nodeEntry(perNode, nodeName).get("outcome").getAsString();
    }

    private static JsonObject configOf(JsonObject perNode, String nodeName) {
        return nodeEntry(perNode, nodeName).getAsJsonObject("config");
    }

    private static JsonObject nodeEntry(JsonObject perNode, String nodeName) {
        Set<String> names = new TreeSet<>();
        for (JsonElement e : perNode.asMap().values()) {
            String name = e.getAsJsonObject().get("name").getAsString();
            if (name.equals(nodeName)) {
                return e.getAsJsonObject();
            }
            names.add(name);
        }
        throw new AssertionError("no node [" + nodeName + "] in " + names);
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
