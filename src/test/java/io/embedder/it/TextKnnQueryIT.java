package io.embedder.it;

import com.google.gson.JsonArray;
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

/** {@code text_knn} through a real node with the k-NN plugin: same hits as a hand-built knn query, one inference per search. */
class TextKnnQueryIT {

    private static final String INDEX = "it-text-knn";
    private static final String MODEL = "e5-small-v2";
    private static final List<String> TEXTS = List.of("The cat sits on the mat.", "Stock markets fell sharply today.",
        "A kitten is sleeping on a rug.", "The central bank raised interest rates.", "Dogs love to play fetch in the park.",
        "Bond yields climbed after the inflation report.", "A puppy chased a ball across the lawn.", "Quarterly earnings beat expectations.");

    @BeforeAll
    static void index() {
        Node.delete("/" + INDEX);
        // e5 has query/passage prompts, so the query role matters; 3 shards, to count inferences per search
        Node.Response created = Node.put("/" + INDEX, """
            {"settings": {"index.knn": true, "number_of_shards": 3, "number_of_replicas": 0},
             "mappings": {"_meta": {"embedder": {"fields": {"vec": {"model": "%s"}}}},
                          "properties": {"text": {"type": "text"}, "group": {"type": "keyword"},
                                         "vec": {"type": "knn_vector", "dimension": 384,
                                                 "method": {"name": "hnsw", "engine": "lucene", "space_type": "cosinesimil"}}}}}""".formatted(MODEL));
        assertEquals(200, created.status(), created.body().toString());
        List<float[]> vectors = Node.embedAll(MODEL, TEXTS, "document", 16);
        StringBuilder bulk = new StringBuilder();
        for (int i = 0; i < TEXTS.size(); i++) {
            bulk.append("{\"index\":{\"_index\":\"").append(INDEX).append("\",\"_id\":\"").append(i).append("\"}}\n");
            bulk.append(Node.json(Map.of("text", TEXTS.get(i), "group", i % 2 == 0 ? "animals" : "finance", "vec", vectors.get(i)))).append('\n');
        }
        assertEquals(false, Node.bulk(bulk.toString()).object().get("errors").getAsBoolean());
        Node.post("/" + INDEX + "/_refresh", "{}");
    }

    @AfterAll
    static void cleanUp() {
        Node.delete("/" + INDEX);
    }

    private static Node.Response search(Object query) {
        return Node.post("/" + INDEX + "/_search", Node.json(Map.of("size", 10, "_source", false, "query", query)));
    }

    private static List<String> hits(Node.Response r) {
        assertEquals(200, r.status(), String.valueOf(r.body()));
        List<String> out = new ArrayList<>();
        for (JsonElement h : r.object().getAsJsonObject("hits").getAsJsonArray("hits")) {
            out.add(h.getAsJsonObject().get("_id").getAsString() + "@" + h.getAsJsonObject().get("_score").getAsFloat());
        }
        return out;
    }

    private static long inferences() {
        return Node.inferenceCount(Node.base());
    }

    private static Map<String, Object> textKnn(Map<String, Object> params) {
        return Map.of("text_knn", Map.of("vec", params));
    }

    @Test
    void sameHitsAsAKnnQueryOnTheEmbedOutputWithTheQueryRole() {
        String text = "a small animal asleep";
        float[] vector = Node.embedAll(MODEL, List.of(text), "query", 1).get(0);
        List<String> expected = hits(search(Map.of("knn", Map.of("vec", Map.of("vector", vector, "k", 3)))));
        List<String> actual = hits(search(textKnn(Map.of("query_text", text, "k", 3))));
        assertEquals(expected, actual);
        assertTrue(actual.get(0).startsWith("2@"), actual.toString());
        // with a filter, as k-NN's own filter
        Map<String, Object> filter = Map.of("term", Map.of("group", "finance"));
        assertEquals(hits(search(Map.of("knn", Map.of("vec", Map.of("vector", vector, "k", 3, "filter", filter))))),
            hits(search(textKnn(Map.of("query_text", text, "k", 3, "filter", filter)))));
    }

    @Test
    void oneInferencePerSearchWhateverTheShardCount() {
        long before = inferences();
        Node.Response r = search(textKnn(Map.of("query_text", "interest rates", "k", 2)));
        assertEquals(3, r.object().getAsJsonObject("_shards").get("total").getAsInt());
        assertEquals(before + 1, inferences());
        // inside bool and function_score too: still one per search
        search(Map.of("bool", Map.of("should", List.of(textKnn(Map.of("query_text", "interest rates", "k", 2)),
            Map.of("match", Map.of("text", "stock"))))));
        assertEquals(before + 2, inferences());
    }

    @Test
    void worksInsideCompoundQueriesExplainAndValidate() {
        Map<String, Object> q = textKnn(Map.of("query_text", "money and banks", "k", 2));
        List<String> plain = hits(search(q));
        List<String> boosted = hits(search(Map.of("function_score", Map.of("query", q, "weight", 2))));
        assertEquals(plain.size(), boosted.size());
        assertEquals(plain.get(0).split("@")[0], boosted.get(0).split("@")[0]);
        assertEquals(2 * Float.parseFloat(plain.get(0).split("@")[1]), Float.parseFloat(boosted.get(0).split("@")[1]), 1e-5);
        assertTrue(hits(search(Map.of("bool", Map.of("must", List.of(q), "filter", List.of(Map.of("term", Map.of("group", "finance"))))))).size() >= 1);

        Node.Response explained = Node.post("/" + INDEX + "/_search?explain=true", Node.json(Map.of("size", 1, "query", q)));
        assertEquals(200, explained.status());
        JsonObject hit = explained.object().getAsJsonObject("hits").getAsJsonArray("hits").get(0).getAsJsonObject();
        assertEquals(hit.get("_score").getAsFloat(), hit.getAsJsonObject("_explanation").get("value").getAsFloat(), 1e-6);

        Node.Response valid = Node.post("/" + INDEX + "/_validate/query?explain=true", Node.json(Map.of("query", q)));
        assertEquals(200, valid.status());
        assertTrue(valid.object().get("valid").getAsBoolean(), valid.body().toString());
        JsonArray explanations = valid.object().getAsJsonArray("explanations");
        assertTrue(explanations.get(0).getAsJsonObject().get("explanation").getAsString().contains("vec"), explanations.toString());
    }

    @Test
    void mismatchesAndMissingSettingsAreClearErrors() {
        Node.Response wrongModel = search(textKnn(Map.of("query_text", "x", "k", 2, "model", "bge-small-en-v1.5")));
        assertEquals(400, wrongModel.status());
        assertEquals("[text_knn] [model] [bge-small-en-v1.5] does not match model [e5-small-v2] of field [vec] (index [" + INDEX
            + "] _meta.embedder.fields.vec): omit [model] or use [e5-small-v2]", wrongModel.reason());
        Node.Response wrongDims = search(textKnn(Map.of("query_text", "x", "k", 2, "dimensions", 128)));
        assertEquals(400, wrongDims.status());
        assertEquals("[text_knn] [dimensions] [128] does not match dimensions [full] of field [vec] (index [" + INDEX
            + "] _meta.embedder.fields.vec): omit [dimensions]", wrongDims.reason());
        Node.Response unknownField = Node.post("/" + INDEX + "/_search",
            Node.json(Map.of("query", Map.of("text_knn", Map.of("text", Map.of("query_text", "x", "k", 2))))));
        assertEquals(400, unknownField.status());
        assertEquals("[text_knn] does not know how field [text] was embedded: no index [" + INDEX + "] has _meta.embedder.fields.text.model "
            + "in its mapping; add it to the mapping or give [model] in the query", unknownField.reason());
        Node.Response noK = search(textKnn(Map.of("query_text", "x")));
        assertEquals(400, noK.status());
        assertEquals("[text_knn] on field [vec] needs exactly one of [k], [min_score], [max_distance]", noK.reason());
        Node.Response unknownParam = search(textKnn(Map.of("query_text", "x", "k", 1, "vector", List.of(1))));
        assertEquals(400, unknownParam.status());
        assertEquals("[text_knn] does not support [vector]; it takes [query_text, k, min_score, max_distance, filter, model, dimensions, "
            + "boost, _name]", unknownParam.reason());
    }

    @Test
    void radialSearchByMinScore() {
        String text = "a small animal asleep";
        float[] vector = Node.embedAll(MODEL, List.of(text), "query", 1).get(0);
        assertEquals(hits(search(Map.of("knn", Map.of("vec", Map.of("vector", vector, "min_score", 0.85))))),
            hits(search(textKnn(Map.of("query_text", text, "min_score", 0.85)))));
    }

    @Test
    void radialSearchByMaxDistance() {
        // cosinesimil: k-NN's distance is 1 - cosine, so max_distance 0.15 keeps what min_score 1/(1+0.15) would
        String text = "a small animal asleep";
        float[] vector = Node.embedAll(MODEL, List.of(text), "query", 1).get(0);
        List<String> expected = hits(search(Map.of("knn", Map.of("vec", Map.of("vector", vector, "max_distance", 0.15)))));
        assertEquals(expected, hits(search(textKnn(Map.of("query_text", text, "max_distance", 0.15)))));
        assertTrue(!expected.isEmpty() && expected.size() < TEXTS.size(), "the radius keeps some documents, not all: " + expected);
    }

    @Test
    void searchedIndicesThatRememberTheFieldDifferentlyAreAnError() {
        String other = INDEX + "-bge";
        Node.delete("/" + other);
        assertEquals(200, Node.put("/" + other, """
            {"settings": {"index.knn": true},
             "mappings": {"_meta": {"embedder": {"fields": {"vec": {"model": "bge-small-en-v1.5"}}}},
                          "properties": {"vec": {"type": "knn_vector", "dimension": 384,
                                                 "method": {"name": "hnsw", "engine": "lucene", "space_type": "cosinesimil"}}}}}""").status());
        try {
            Node.Response r = Node.post("/" + INDEX + "," + other + "/_search",
                Node.json(Map.of("query", textKnn(Map.of("query_text", "x", "k", 2)))));
            assertEquals(400, r.status(), String.valueOf(r.body()));
            assertEquals("[text_knn] field [vec] is embedded differently across the searched indices: index [" + INDEX + "] model ["
                + MODEL + "] dimensions [full] normalize [model default]; index [" + other + "] model [bge-small-en-v1.5] dimensions [full] "
                + "normalize [model default]; search them separately", r.reason());

            assertEquals(200, Node.put("/" + other + "/_mapping", """
                {"_meta": {"embedder": {"fields": {"vec": {"model": "bge-small-en-v1.5", "dimension": 384}}}}}""").status());
            Node.Response malformed = Node.post("/" + other + "/_search", Node.json(Map.of("query", textKnn(Map.of("query_text", "x", "k", 2)))));
            assertEquals(400, malformed.status(), String.valueOf(malformed.body()));
            assertEquals("index [" + other + "] _meta.embedder.fields.vec has unknown key [dimension]; it takes [model, dimensions, normalize]",
                malformed.reason());
        } finally {
            Node.delete("/" + other);
        }
    }

    @Test
    void aFieldIngestedWithoutNormalizationIsQueriedWithoutIt() {
        // inner product sees the vectors' lengths, so a normalized query vector would give other scores
        String index = INDEX + "-raw";
        Node.delete("/" + index);
        assertEquals(200, Node.put("/" + index, """
            {"settings": {"index.knn": true, "number_of_shards": 1, "number_of_replicas": 0},
             "mappings": {"_meta": {"embedder": {"fields": {"vec": {"model": "%s", "normalize": false}}}},
                          "properties": {"text": {"type": "text"},
                                         "vec": {"type": "knn_vector", "dimension": 384,
                                                 "method": {"name": "hnsw", "engine": "lucene", "space_type": "innerproduct"}}}}}"""
            .formatted(MODEL)).status());
        try {
            Node.Response pipeline = Node.put("/_ingest/pipeline/it-text-knn-raw", """
                {"processors": [{"embed": {"model": "%s", "field_map": {"text": "vec"}, "normalize": false}}]}""".formatted(MODEL));
            assertEquals(200, pipeline.status(), String.valueOf(pipeline.body()));
            StringBuilder bulk = new StringBuilder();
            for (int i = 0; i < TEXTS.size(); i++) {
                bulk.append("{\"index\":{\"_index\":\"").append(index).append("\",\"_id\":\"").append(i)
                    .append("\",\"pipeline\":\"it-text-knn-raw\"}}\n").append(Node.json(Map.of("text", TEXTS.get(i)))).append('\n');
            }
            assertEquals(false, Node.bulk(bulk.toString()).object().get("errors").getAsBoolean());
            Node.post("/" + index + "/_refresh", "{}");

            String text = "a small animal asleep";
            float[] raw = Node.floats(Node.embed(MODEL, Map.of("texts", List.of(text), "role", "query", "normalize", false))
                .object().getAsJsonArray("embeddings").get(0).getAsJsonArray());
            float[] unit = Node.embedAll(MODEL, List.of(text), "query", 1).get(0);
            Map<String, Object> body = Map.of("size", 3, "_source", false, "query", textKnn(Map.of("query_text", text, "k", 3)));
            List<String> actual = hits(Node.post("/" + index + "/_search", Node.json(body)));
            assertEquals(hits(Node.post("/" + index + "/_search", Node.json(Map.of("size", 3, "_source", false,
                "query", Map.of("knn", Map.of("vec", Map.of("vector", raw, "k", 3))))))), actual);
            List<String> normalized = hits(Node.post("/" + index + "/_search", Node.json(Map.of("size", 3, "_source", false,
                "query", Map.of("knn", Map.of("vec", Map.of("vector", unit, "k", 3)))))));
            assertTrue(!normalized.equals(actual), "a normalized query vector scores differently: " + normalized + " vs " + actual);
        } finally {
            Node.delete("/" + index);
            Node.delete("/_ingest/pipeline/it-text-knn-raw");
        }
    }
}
