package io.embedder.it;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code text_knn} inside neural-search's {@code hybrid} query, on a node with neural-search beside k-NN
 * ({@code -Dtests.cluster.hybrid}): the same hits and scores as the hybrid query with a hand-built {@code knn} on the
 * {@code _embed} vector of the text (query role), through a normalization search pipeline; one inference per search.
 */
class HybridIT {

    private static final String INDEX = "it-hybrid";
    private static final String PIPELINE = "it-hybrid-minmax";
    private static final String MODEL = "bge-small-en-v1.5";
    private static final List<String> TEXTS = List.of("The cat sits on the mat.", "Stock markets fell sharply today.",
        "A kitten is sleeping on a rug.", "The central bank raised interest rates.", "Dogs love to play fetch in the park.",
        "Bond yields climbed after the inflation report.", "A puppy chased a ball across the lawn.", "Quarterly earnings beat expectations.",
        "The cat chased a mouse under the bank's counter.", "Interest in cats rose sharply.");

    private static String base;

    @BeforeAll
    static void index() {
        String node = System.getProperty("tests.cluster.hybrid", "");
        assumeTrue(!node.isEmpty(), "tests.cluster.hybrid not given");
        base = "http://" + node;
        Node.deleteAt(base, "/" + INDEX);
        Node.Response created = Node.putTo(base, "/" + INDEX, """
            {"settings": {"index.knn": true, "number_of_shards": 2, "number_of_replicas": 0},
             "mappings": {"_meta": {"embedder": {"fields": {"vec": {"model": "%s"}}}},
                          "properties": {"text": {"type": "text"},
                                         "vec": {"type": "knn_vector", "dimension": 384,
                                                 "method": {"name": "hnsw", "engine": "lucene", "space_type": "cosinesimil"}}}}}""".formatted(MODEL));
        assertEquals(200, created.status(), String.valueOf(created.body()));
        assertEquals(200, Node.putTo(base, "/_ingest/pipeline/" + INDEX, """
            {"processors": [{"embed": {"model": "%s", "field_map": {"text": "vec"}}}]}""".formatted(MODEL)).status());
        StringBuilder bulk = new StringBuilder();
        for (int i = 0; i < TEXTS.size(); i++) {
            bulk.append("{\"index\":{\"_index\":\"").append(INDEX).append("\",\"_id\":\"").append(i).append("\",\"pipeline\":\"").append(INDEX)
                .append("\"}}\n").append(Node.json(Map.of("text", TEXTS.get(i)))).append('\n');
        }
        Node.Response indexed = Node.postTo(base, "/_bulk?refresh=true", bulk.toString());
        assertEquals(200, indexed.status(), String.valueOf(indexed.body()));
        assertEquals(false, indexed.object().get("errors").getAsBoolean(), String.valueOf(indexed.body()));
        Node.Response pipeline = Node.putTo(base, "/_search/pipeline/" + PIPELINE, """
            {"phase_results_processors": [{"normalization-processor": {
               "normalization": {"technique": "min_max"},
               "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.3, 0.7]}}}}]}""");
        assertEquals(200, pipeline.status(), String.valueOf(pipeline.body()));
    }

    @AfterAll
    static void cleanUp() {
        if (base != null) {
            Node.deleteAt(base, "/" + INDEX);
            Node.deleteAt(base, "/_ingest/pipeline/" + INDEX);
            Node.deleteAt(base, "/_search/pipeline/" + PIPELINE);
        }
    }

    private static List<String> hybrid(Object vectorQuery) {
        Map<String, Object> body = Map.of("size", 10, "_source", false,
            "query", Map.of("hybrid", Map.of("queries", List.of(Map.of("match", Map.of("text", "cat interest")), vectorQuery))));
        Node.Response r = Node.postTo(base, "/" + INDEX + "/_search?search_pipeline=" + PIPELINE, Node.json(body));
        assertEquals(200, r.status(), String.valueOf(r.body()));
        List<String> out = new ArrayList<>();
        for (JsonElement h : r.object().getAsJsonObject("hits").getAsJsonArray("hits")) {
            JsonObject hit = h.getAsJsonObject();
            out.add(hit.get("_id").getAsString() + "@" + hit.get("_score").getAsFloat());
        }
        return out;
    }

    @Test
    void textKnnInsideHybridScoresAsAKnnOnTheEmbedVector() {
        String text = "a cat resting";
        float[] vector = Node.floats(Node.postTo(base, "/_plugins/_embedder/models/" + MODEL + "/_embed",
            Node.json(Map.of("texts", List.of(text), "role", "query"))).object().getAsJsonArray("embeddings").get(0).getAsJsonArray());
        List<String> expected = hybrid(Map.of("knn", Map.of("vec", Map.of("vector", vector, "k", 5))));

        long before = Node.inferenceCount(base);
        List<String> actual = hybrid(Map.of("text_knn", Map.of("vec", Map.of("query_text", text, "k", 5))));
        assertEquals(before + 1, Node.inferenceCount(base), "one inference per search, on 2 shards, inside hybrid");
        assertEquals(expected, actual);
        // both sub-queries count: BM25-only documents (interest rates, no cat) and vector-only ones (kitten, no match) are in it
        assertTrue(actual.stream().anyMatch(h -> h.startsWith("3@")), actual.toString());
        assertTrue(actual.stream().anyMatch(h -> h.startsWith("2@")), actual.toString());
    }
}
