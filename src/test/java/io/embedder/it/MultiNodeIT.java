package io.embedder.it;

import com.google.gson.JsonElement;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A multi-node cluster ({@code -Dtests.cluster.multi=host:port,host:port,...}; one shard on each of two nodes): {@code text_knn}
 * sent to one node is embedded there once, and the vector reaches the shard on the other node.
 */
class MultiNodeIT {

    private static final String INDEX = "it-multi";

    @Test
    void embeddedOnceOnTheCoordinatorAndServedByBothNodes() {
        String nodes = System.getProperty("tests.cluster.multi", "");
        assumeTrue(!nodes.isEmpty(), "tests.cluster.multi not given");
        String first = "http://" + nodes.split(",")[0];
        String second = "http://" + nodes.split(",")[1];
        assertTrue(Node.getFrom(first, "/_cluster/health").object().get("number_of_nodes").getAsInt() >= 2);

        Node.Response created = Node.putTo(first, "/" + INDEX, """
            {"settings": {"index.knn": true, "number_of_shards": 2, "number_of_replicas": 0, "index.routing.allocation.total_shards_per_node": 1},
             "mappings": {"_meta": {"embedder": {"fields": {"vec": {"model": "bge-small-en-v1.5"}}}},
                          "properties": {"vec": {"type": "knn_vector", "dimension": 384,
                                                 "method": {"name": "hnsw", "engine": "lucene", "space_type": "cosinesimil"}}}}}""");
        assertEquals(200, created.status(), String.valueOf(created.body()));
        Node.getFrom(first, "/_cluster/health/" + INDEX + "?wait_for_status=green&timeout=60s");
        List<String> texts = List.of("The cat sits on the mat.", "Stock markets fell sharply today.", "A kitten is sleeping on a rug.",
            "The central bank raised interest rates.", "Dogs love to play fetch in the park.", "Bond yields climbed after the report.");
        Node.Response embedded = Node.postTo(first, "/_plugins/_embedder/models/bge-small-en-v1.5/_embed",
            Node.json(Map.of("texts", texts, "role", "document")));
        StringBuilder bulk = new StringBuilder();
        int i = 0;
        for (JsonElement v : embedded.object().getAsJsonArray("embeddings")) {
            bulk.append("{\"index\":{\"_index\":\"").append(INDEX).append("\",\"_id\":\"").append(i++).append("\"}}\n");
            bulk.append("{\"vec\":").append(v).append("}\n");
        }
        assertEquals(false, Node.postTo(first, "/_bulk?refresh=true", bulk.toString()).object().get("errors").getAsBoolean());

        // the shards are on both nodes
        Node.Response shards = Node.getFrom(first, "/_cat/shards/" + INDEX + "?format=json");
        List<String> shardNodes = new ArrayList<>();
        shards.body().getAsJsonArray().forEach(s -> shardNodes.add(s.getAsJsonObject().get("node").getAsString()));
        assertEquals(2, shardNodes.stream().distinct().count(), shardNodes.toString());

        String query = Node.json(Map.of("size", 3, "_source", false,
            "query", Map.of("text_knn", Map.of("vec", Map.of("query_text", "a sleeping kitten", "k", 3)))));
        long firstBefore = inferences(first), secondBefore = inferences(second);
        Node.Response viaSecond = Node.postTo(second, "/" + INDEX + "/_search", query);
        assertEquals(200, viaSecond.status(), String.valueOf(viaSecond.body()));
        assertEquals(2, viaSecond.object().getAsJsonObject("_shards").get("successful").getAsInt());
        assertEquals(secondBefore + 1, inferences(second));
        assertEquals(firstBefore, inferences(first));

        float[] vector = Node.floats(Node.postTo(second, "/_plugins/_embedder/models/bge-small-en-v1.5/_embed",
            Node.json(Map.of("texts", List.of("a sleeping kitten"), "role", "query"))).object().getAsJsonArray("embeddings").get(0).getAsJsonArray());
        Node.Response knn = Node.postTo(first, "/" + INDEX + "/_search", Node.json(Map.of("size", 3, "_source", false,
            "query", Map.of("knn", Map.of("vec", Map.of("vector", vector, "k", 3))))));
        assertEquals(knn.object().getAsJsonObject("hits").toString(), viaSecond.object().getAsJsonObject("hits").toString());
        assertEquals(200, Node.deleteAt(first, "/" + INDEX).status());
    }

    private static long inferences(String base) {
        return Node.inferenceCount(base);
    }
}
