package io.embedder.it;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A node without the k-NN plugin ({@code -Dtests.cluster.noknn}): the plugin starts and embeds; text_knn says why it can't run. */
class WithoutKnnIT {

    @Test
    void embedsAndRefusesTextKnnClearly() {
        String node = System.getProperty("tests.cluster.noknn", "");
        assumeTrue(!node.isEmpty(), "tests.cluster.noknn not given");
        String base = "http://" + node;
        Node.Response embedded = Node.postTo(base, "/_plugins/_embedder/models/bge-small-en-v1.5/_embed", Node.json(Map.of("texts", List.of("hi"))));
        assertEquals(200, embedded.status(), String.valueOf(embedded.body()));
        Node.putTo(base, "/it-noknn", "{\"mappings\": {\"_meta\": {\"embedder\": {\"fields\": {\"vec\": {\"model\": \"bge-small-en-v1.5\"}}}}}}");
        long before = Node.inferenceCount(base);
        Node.Response r = Node.postTo(base, "/it-noknn/_search",
            Node.json(Map.of("query", Map.of("text_knn", Map.of("vec", Map.of("query_text", "cat", "k", 2))))));
        assertEquals(400, r.status());
        assertEquals("illegal_argument_exception", r.type());
        assertEquals("[text_knn] rewrites into the k-NN plugin's [knn] query, and the k-NN plugin is not installed on this cluster", r.reason());
        // refused before any inference
        assertEquals(before, Node.inferenceCount(base));
        assertEquals(200, Node.postTo(base, "/_plugins/_embedder/models/bge-small-en-v1.5/_embed", Node.json(Map.of("texts", List.of("still up")))).status());
    }
}
