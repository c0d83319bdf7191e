package io.embedder.it;

import com.google.gson.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code GET _plugins/_embedder/stats} on the three-node cluster ({@code -Dtests.cluster.multi}): every node answers,
 * the cluster-wide figures are the nodes' sums, and one request moves exactly the counters it should, on the node that
 * ran it only.
 */
class StatsIT {

    private static final String BGE = "bge-small-en-v1.5";
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

    /** The cluster-wide stats, asked through {@code base}. */
    private static JsonObject clusterStats(String base) {
        Node.Response r = Node.getFrom(base, "/_plugins/_embedder/stats");
        assertEquals(200, r.status(), String.valueOf(r.body()));
        return r.object();
    }

    private static JsonObject model(JsonObject nodeOrCluster, String model) {
        return nodeOrCluster.getAsJsonObject("models").getAsJsonObject(model);
    }

    private static long counter(JsonObject modelStats, String name) {
        return modelStats.get(name).getAsLong();
    }

    @Test
    void everyNodeAnswersAndTheClusterFiguresAreTheirSums() {
        // asked through the second node: the answer covers all three
        JsonObject stats = clusterStats(nodes.get(1));
        assertEquals(nodes.size(), stats.getAsJsonObject("_nodes").get("successful").getAsInt());
        JsonObject perNode = stats.getAsJsonObject("nodes");
        assertEquals(nodes.size(), perNode.size());
        for (String field : List.of("requests", "texts", "tokens", "batches", "loads")) {
            long sum = 0;
            for (String id : perNode.keySet()) {
                sum += counter(model(perNode.getAsJsonObject(id), BGE), field);
            }
            assertEquals(sum, counter(model(stats, BGE), field), field);
        }
        for (String id : perNode.keySet()) {
            JsonObject node = perNode.getAsJsonObject(id);
            assertEquals(BGE, node.get("default_model").getAsString());
            assertTrue(node.getAsJsonObject("inference_pool").has("rejected"), node.toString());
            assertTrue(node.getAsJsonObject("ingest_pool").has("completed"), node.toString());
        }
    }

    @Test
    void oneRequestMovesItsNodesCountersOnly() {
        String second = nodes.get(1);
        JsonObject before = clusterStats(nodes.get(0));
        String secondId = Node.localStats(second).get("name").getAsString();
        // word pieces with [CLS] and [SEP]: "hello world" 4, "the cat sat" 5, "a" 3; one batch of 3 padded to 5
        Node.Response embedded = Node.postTo(second, "/_plugins/_embedder/models/" + BGE + "/_embed",
            Node.json(Map.of("texts", List.of("hello world", "the cat sat", "a"))));
        assertEquals(200, embedded.status(), String.valueOf(embedded.body()));
        JsonObject after = clusterStats(nodes.get(0));

        for (String id : after.getAsJsonObject("nodes").keySet()) {
            JsonObject was = model(before.getAsJsonObject("nodes").getAsJsonObject(id), BGE);
            JsonObject now = model(after.getAsJsonObject("nodes").getAsJsonObject(id), BGE);
            boolean ran = after.getAsJsonObject("nodes").getAsJsonObject(id).get("name").getAsString().equals(secondId);
            Map<String, Long> expectedDelta = ran
                ? Map.of("requests", 1L, "failures", 0L, "texts", 3L, "tokens", 12L, "padded_tokens", 15L, "batches", 1L, "rejections", 0L)
                : Map.of("requests", 0L, "failures", 0L, "texts", 0L, "tokens", 0L, "padded_tokens", 0L, "batches", 0L, "rejections", 0L);
            expectedDelta.forEach((field, delta) -> assertEquals((long) delta, counter(now, field) - counter(was, field), id + " " + field));
            assertEquals(ran ? 1 : 0, batchesOfThreeOrFour(now) - batchesOfThreeOrFour(was), id);
            assertEquals(ran ? 1 : 0, now.getAsJsonObject("request_latency_ms").get("count").getAsLong()
                - was.getAsJsonObject("request_latency_ms").get("count").getAsLong(), id);
            assertEquals(0, counter(now, "in_flight"));
            assertEquals(0, counter(now, "queued"));
        }
        JsonObject clusterBefore = model(before, BGE);
        JsonObject clusterAfter = model(after, BGE);
        assertEquals(1, counter(clusterAfter, "requests") - counter(clusterBefore, "requests"));
        assertEquals(12, counter(clusterAfter, "tokens") - counter(clusterBefore, "tokens"));
    }

    @Test
    void oneNodesOwnStatsAndAModelFilter() {
        Node.Response one = Node.getFrom(nodes.get(0), "/_plugins/_embedder/_nodes/_local/stats/" + BGE);
        assertEquals(200, one.status(), String.valueOf(one.body()));
        assertEquals(1, one.object().getAsJsonObject("_nodes").get("total").getAsInt());
        JsonObject node = one.object().getAsJsonObject("nodes").entrySet().iterator().next().getValue().getAsJsonObject();
        assertEquals(List.of(BGE), List.copyOf(node.getAsJsonObject("models").keySet()));
        assertEquals(List.of(BGE), List.copyOf(one.object().getAsJsonObject("models").keySet()));
        String name = node.get("name").getAsString();
        Node.Response byName = Node.getFrom(nodes.get(nodes.size() - 1), "/_plugins/_embedder/_nodes/" + name + "/stats");
        assertEquals(1, byName.object().getAsJsonObject("_nodes").get("total").getAsInt());
        assertEquals(name, byName.object().getAsJsonObject("nodes").entrySet().iterator().next().getValue().getAsJsonObject().get("name").getAsString());
    }

    private static long batchesOfThreeOrFour(JsonObject modelStats) {
        JsonObject sizes = modelStats.getAsJsonObject("batch_sizes");
        return sizes.has("3-4") ? sizes.get("3-4").getAsLong() : 0;
    }
}
