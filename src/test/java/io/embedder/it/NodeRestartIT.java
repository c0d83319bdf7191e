package io.embedder.it;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.embedder.core.pooling.VectorOps;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Three nodes, an index with a replica and the embed pipeline: bulks keep coming and text_knn searches keep running
 * while one data node is stopped and restarted ({@code -Dtests.cluster.multi=a,b,c}, {@code -Dtests.multi.restart=name:port},
 * through scripts/node.sh). Afterwards every acknowledged document is there with the right vector; every other one was
 * reported in its bulk item. Prints the figures.
 */
class NodeRestartIT {

    private static final String INDEX = "it-restart";
    private static final String PIPELINE = "it-restart-embed";
    private static final String MODEL = "bge-small-en-v1.5";

    @Test
    void noAcknowledgedDocumentIsLostWhileANodeRestarts() throws Exception {
        String nodes = System.getProperty("tests.cluster.multi", "");
        String restart = System.getProperty("tests.multi.restart", "");
        assumeTrue(nodes.split(",").length == 3 && !restart.isEmpty(), "needs a 3-node cluster and a node to restart");
        String base = "http://" + nodes.split(",")[0];
        String victim = restart.split(":")[0];
        String victimPort = restart.split(":")[1];

        assertEquals(200, Node.putTo(base, "/_ingest/pipeline/" + PIPELINE,
            "{\"processors\": [{\"embed\": {\"model\": \"" + MODEL + "\", \"field_map\": {\"body\": \"vec\"}}}]}").status());
        Node.deleteAt(base, "/" + INDEX);
        Node.Response created = Node.putTo(base, "/" + INDEX, """
            {"settings": {"index.knn": true, "number_of_shards": 3, "number_of_replicas": 1, "default_pipeline": "%s",
                          "index.unassigned.node_left.delayed_timeout": "0s"},
             "mappings": {"_meta": {"embedder": {"fields": {"vec": {"model": "%s"}}}},
                          "properties": {"body": {"type": "text"}, "vec": {"type": "knn_vector", "dimension": 384,
                                         "method": {"name": "hnsw", "engine": "lucene", "space_type": "cosinesimil"}}}}}""".formatted(PIPELINE, MODEL));
        assertEquals(200, created.status(), String.valueOf(created.body()));
        assertEquals(200, Node.getFrom(base, "/_cluster/health/" + INDEX + "?wait_for_status=green&timeout=60s").status());

        Map<String, String> acknowledged = Collections.synchronizedMap(new LinkedHashMap<>());
        Map<String, Integer> failures = Collections.synchronizedMap(new TreeMap<>());
        Map<Integer, Integer> searchStatuses = Collections.synchronizedMap(new TreeMap<>());
        // every search answer that is not a 200, as "status type: reason" (with the root cause's), counted
        Map<String, Integer> searchErrors = Collections.synchronizedMap(new TreeMap<>());
        AtomicBoolean running = new AtomicBoolean(true);
        Thread ingest = new Thread(() -> {
            int next = 0;
            while (running.get()) {
                StringBuilder bulk = new StringBuilder();
                Map<String, String> sent = new LinkedHashMap<>();
                for (int i = 0; i < 20; i++, next++) {
                    String id = "d" + next;
                    String text = "Document " + next + " is about " + List.of("cats", "markets", "rain", "music", "code").get(next % 5)
                        + " and number " + (next * 7919 % 1000);
                    sent.put(id, text);
                    bulk.append("{\"index\":{\"_index\":\"").append(INDEX).append("\",\"_id\":\"").append(id).append("\"}}\n")
                        .append(Node.json(Map.of("body", text))).append('\n');
                }
                Node.Response r;
                try {
                    r = Node.postTo(base, "/_bulk?timeout=30s", bulk.toString());
                } catch (RuntimeException e) {
                    failures.merge("transport: " + e.getClass().getSimpleName(), sent.size(), Integer::sum);
                    continue;
                }
                if (r.status() != 200) {
                    failures.merge("bulk status " + r.status(), sent.size(), Integer::sum);
                    continue;
                }
                for (JsonElement item : r.object().getAsJsonArray("items")) {
                    JsonObject index = item.getAsJsonObject().getAsJsonObject("index");
                    String id = index.get("_id").getAsString();
                    if (index.get("status").getAsInt() < 300) {
                        acknowledged.put(id, sent.get(id));
                    } else {
                        // reported per document, with a reason: nothing fails silently
                        String reason = index.getAsJsonObject("error").get("type").getAsString();
                        failures.merge(index.get("status").getAsInt() + " " + reason, 1, Integer::sum);
                    }
                }
            }
        });
        Thread search = new Thread(() -> {
            String query = Node.json(Map.of("size", 5, "query", Map.of("text_knn", Map.of("vec", Map.of("query_text", "cats", "k", 5)))));
            while (running.get()) {
                Node.Response r;
                try {
                    r = Node.postTo(base, "/" + INDEX + "/_search", query);
                } catch (RuntimeException e) {
                    searchErrors.merge("transport: " + e.getClass().getSimpleName(), 1, Integer::sum);
                    continue;
                }
                searchStatuses.merge(r.status(), 1, Integer::sum);
                if (r.status() != 200) {
                    searchErrors.merge(r.status() + " " + describe(r), 1, Integer::sum);
                } else if (r.object().getAsJsonObject("_shards").get("failed").getAsInt() > 0) {
                    searchErrors.merge("200 with failed shards: " + r.object().getAsJsonObject("_shards").get("failures"), 1, Integer::sum);
                }
            }
        });
        ingest.start();
        search.start();
        Thread.sleep(10_000);
        int beforeStop = acknowledged.size();
        nodeScript("stop", victim);
        Thread.sleep(15_000);
        int duringOutage = acknowledged.size() - beforeStop;
        nodeScript("start", victim, victimPort, "--no-wait");
        assertEquals(200, Node.getFrom(base, "/_cluster/health?wait_for_nodes=3&timeout=180s").status());
        assertEquals(200, Node.getFrom(base, "/_cluster/health/" + INDEX + "?wait_for_status=green&timeout=180s").status());
        // the restarted node loads its model again from its own directory (its HTTP port opens after it joins)
        String restarted = "http://127.0.0.1:" + victimPort;
        for (int attempt = 0; attempt < 60 && !answers(restarted); attempt++) {
            Thread.sleep(1_000);
        }
        assertEquals(384, embedAllAt(restarted, List.of("after the restart")).get(0).length);
        Thread.sleep(5_000);
        running.set(false);
        ingest.join();
        search.join();

        Node.postTo(base, "/" + INDEX + "/_refresh", "{}");
        List<String> ids = new ArrayList<>(acknowledged.keySet());
        int lost = 0;
        int wrong = 0;
        for (int from = 0; from < ids.size(); from += 200) {
            List<String> chunk = ids.subList(from, Math.min(ids.size(), from + 200));
            Node.Response docs = Node.postTo(base, "/" + INDEX + "/_mget", Node.json(Map.of("ids", chunk)));
            List<String> texts = new ArrayList<>();
            List<float[]> stored = new ArrayList<>();
            for (JsonElement d : docs.object().getAsJsonArray("docs")) {
                JsonObject doc = d.getAsJsonObject();
                if (!doc.get("found").getAsBoolean()) {
                    lost++;
                    continue;
                }
                texts.add(doc.getAsJsonObject("_source").get("body").getAsString());
                stored.add(Node.floats(doc.getAsJsonObject("_source").getAsJsonArray("vec")));
            }
            List<float[]> expected = texts.isEmpty() ? List.of() : embedAllAt(base, texts);
            for (int i = 0; i < texts.size(); i++) {
                if (VectorOps.cosine(expected.get(i), stored.get(i)) < 0.9999) {
                    wrong++;
                }
            }
        }
        long count = Node.getFrom(base, "/" + INDEX + "/_count").object().get("count").getAsLong();
        System.out.printf("restart: %d documents acknowledged (%d while %s was down), %d lost, %d with a wrong vector, %d in the index; "
            + "failed items %s; searches %s; search errors %s%n", ids.size(), duringOutage, victim, lost, wrong, count, failures, searchStatuses,
            searchErrors);
        assertEquals(0, lost, "acknowledged documents lost");
        assertEquals(0, wrong, "documents with a wrong vector");
        assertTrue(duringOutage > 0, "bulks must go on while a node is down");
        // searches keep answering while the node is down: at most 1% of them anything but a complete 200, each printed
        int searches = searchStatuses.values().stream().mapToInt(Integer::intValue).sum();
        int bad = searchErrors.values().stream().mapToInt(Integer::intValue).sum();
        assertTrue(searches > 0 && bad * 100 <= searches, "searches " + searchStatuses + ", errors " + searchErrors);
        Node.deleteAt(base, "/" + INDEX);
    }

    /**
     * An error answer as {@code type: reason}, with the root cause's when it differs, and for a search phase failure
     * its phase, the distinct reasons of its failed shards and what caused it (a 500 of that type can come with an
     * empty reason of its own).
     */
    static String describe(Node.Response r) {
        if (r.body() == null || !r.body().isJsonObject() || !r.object().has("error") || !r.object().get("error").isJsonObject()) {
            return String.valueOf(r.body());
        }
        JsonObject error = r.object().getAsJsonObject("error");
        StringBuilder out = new StringBuilder(text(error, "type") + ": " + text(error, "reason"));
        if (error.has("root_cause") && error.getAsJsonArray("root_cause").size() > 0) {
            JsonObject root = error.getAsJsonArray("root_cause").get(0).getAsJsonObject();
            String cause = text(root, "type") + ": " + text(root, "reason");
            if (!out.toString().equals(cause)) {
                out.append(" (root cause ").append(cause).append(')');
            }
        }
        if (error.has("phase")) {
            out.append(" [phase ").append(text(error, "phase"));
            java.util.Set<String> shards = new java.util.TreeSet<>();
            if (error.has("failed_shards") && error.get("failed_shards").isJsonArray()) {
                for (var shard : error.getAsJsonArray("failed_shards")) {
                    JsonObject reason = shard.getAsJsonObject().has("reason") && shard.getAsJsonObject().get("reason").isJsonObject()
                        ? shard.getAsJsonObject().getAsJsonObject("reason") : new JsonObject();
                    shards.add(text(reason, "type") + ": " + text(reason, "reason"));
                }
            }
            out.append("; shard failures ").append(shards);
            if (error.has("caused_by") && error.get("caused_by").isJsonObject()) {
                JsonObject cause = error.getAsJsonObject("caused_by");
                out.append("; caused by ").append(text(cause, "type")).append(": ").append(text(cause, "reason"));
            }
            out.append(']');
        }
        return out.toString();
    }

    private static String text(JsonObject o, String key) {
        return o.has(key) && !o.get(key).isJsonNull() ? o.get(key).getAsString() : "?";
    }

    private static boolean answers(String base) {
        try {
            return Node.getFrom(base, "/").status() == 200;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static List<float[]> embedAllAt(String base, List<String> texts) {
        Node.Response r = Node.postTo(base, "/_plugins/_embedder/models/" + MODEL + "/_embed", Node.json(Map.of("texts", texts, "role", "document")));
        assertEquals(200, r.status());
        List<float[]> out = new ArrayList<>();
        r.object().getAsJsonArray("embeddings").forEach(v -> out.add(Node.floats(v.getAsJsonArray())));
        return out;
    }

    private static void nodeScript(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("scripts/node.sh"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", command) + ": " + out);
    }
}
