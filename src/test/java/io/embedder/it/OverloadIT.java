package io.embedder.it;

import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Saturated inference is refused with 429 from a bounded queue, never queued without bound: the node
 * {@code -Dtests.cluster.noknn} runs one inference thread with a queue of 2 (see scripts/test.sh).
 */
class OverloadIT {

    @Test
    void saturationAnswers429AndTheNodeRecovers() throws Exception {
        String node = System.getProperty("tests.cluster.noknn", "");
        assumeTrue(!node.isEmpty(), "tests.cluster.noknn not given");
        String base = "http://" + node;
        String body = Node.json(Map.of("texts", Collections.nCopies(32, "Search engines have evolved from simple keyword matching ".repeat(20))));
        int clients = 24;
        JsonObject before = Node.localStats(base);
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<Future<Node.Response>> futures = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            futures.add(pool.submit(() -> Node.postTo(base, "/_plugins/_embedder/models/bge-small-en-v1.5/_embed", body)));
        }
        Map<Integer, Integer> statuses = new TreeMap<>();
        String rejection = null;
        for (Future<Node.Response> f : futures) {
            Node.Response r = f.get();
            statuses.merge(r.status(), 1, Integer::sum);
            if (r.status() == 429) {
                rejection = r.type();
            }
        }
        pool.shutdown();
        System.out.println("overload: " + clients + " concurrent requests of 32 long texts at 1 inference thread + queue 2: " + statuses);
        assertEquals(List.of(200, 429), List.copyOf(statuses.keySet()), statuses.toString());
        assertEquals("rejected_execution_exception", rejection);
        assertTrue(statuses.get(200) >= 3, statuses.toString());
        // the node recovers at once
        assertEquals(200, Node.postTo(base, "/_plugins/_embedder/models/bge-small-en-v1.5/_embed", Node.json(Map.of("texts", List.of("after")))).status());
        assertTrue(List.of("green", "yellow").contains(Node.getFrom(base, "/_cluster/health").object().get("status").getAsString()));

        // the stats count each refusal for the model and for the pool; every accepted request reached the model
        JsonObject after = Node.localStats(base);
        JsonObject modelBefore = before.getAsJsonObject("models").getAsJsonObject("bge-small-en-v1.5");
        JsonObject modelAfter = after.getAsJsonObject("models").getAsJsonObject("bge-small-en-v1.5");
        assertEquals((long) statuses.get(429), modelAfter.get("rejections").getAsLong() - modelBefore.get("rejections").getAsLong());
        assertEquals((long) statuses.get(429), after.getAsJsonObject("inference_pool").get("rejected").getAsLong()
            - before.getAsJsonObject("inference_pool").get("rejected").getAsLong());
        assertEquals(statuses.get(200) + 1L, modelAfter.get("requests").getAsLong() - modelBefore.get("requests").getAsLong());
        assertEquals(0, modelAfter.get("queued").getAsLong());
        assertEquals(0, modelAfter.get("in_flight").getAsLong());
    }
}
