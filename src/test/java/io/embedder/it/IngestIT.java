package io.embedder.it;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.embedder.core.pooling.VectorOps;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code embed} ingest processor through bulk: the document role's vectors, one bad document never fails its bulk. */
class IngestIT {

    private static final String INDEX = "it-ingest";
    private static final String PIPELINE = "it-embed";

    @BeforeAll
    static void setUp() {
        Node.Response pipeline = Node.put("/_ingest/pipeline/" + PIPELINE, """
            {"processors": [{"embed": {"model": "e5-small-v2", "field_map": {"body": "vec"}}},
                            {"embed": {"model": "e5-small-v2", "field_map": {"title": "title_tokens"}, "task": "token_embed", "ignore_missing": true}}]}""");
        assertEquals(200, pipeline.status(), String.valueOf(pipeline.body()));
        Node.delete("/" + INDEX);
        Node.Response created = Node.put("/" + INDEX, """
            {"settings": {"index.knn": true, "number_of_shards": 2, "number_of_replicas": 0, "default_pipeline": "%s"},
             "mappings": {"_meta": {"embedder": {"fields": {"vec": {"model": "e5-small-v2"}}}},
                          "properties": {"body": {"type": "text"}, "title_tokens": {"type": "object", "enabled": false},
                                         "vec": {"type": "knn_vector", "dimension": 384,
                                                 "method": {"name": "hnsw", "engine": "lucene", "space_type": "cosinesimil"}}}}}""".formatted(PIPELINE));
        assertEquals(200, created.status(), String.valueOf(created.body()));
    }

    @AfterAll
    static void tearDown() {
        Node.delete("/" + INDEX);
        Node.delete("/_ingest/pipeline/" + PIPELINE);
    }

    @Test
    void bulkEmbedsGoodDocumentsAndReportsBadOnesOneByOne() {
        String bulk = String.join("\n",
            "{\"index\":{\"_index\":\"" + INDEX + "\",\"_id\":\"good-1\"}}", "{\"body\": \"A kitten is sleeping on a rug.\", \"title\": \"Kitten\"}",
            "{\"index\":{\"_index\":\"" + INDEX + "\",\"_id\":\"bad-number\"}}", "{\"body\": 42}",
            "{\"index\":{\"_index\":\"" + INDEX + "\",\"_id\":\"good-2\"}}", "{\"body\": \"Stock markets fell sharply today.\"}",
            "{\"index\":{\"_index\":\"" + INDEX + "\",\"_id\":\"bad-missing\"}}", "{\"other\": \"no body here\"}",
            "{\"index\":{\"_index\":\"" + INDEX + "\",\"_id\":\"good-3\"}}", "{\"body\": \"Café naïve résumé — Zürich, 東京\"}") + "\n";
        Node.Response r = Node.post("/_bulk?refresh=true", bulk);
        assertEquals(200, r.status());
        assertTrue(r.object().get("errors").getAsBoolean());
        JsonArray items = r.object().getAsJsonArray("items");
        assertEquals(List.of(201, 400, 201, 400, 201), List.of(status(items, 0), status(items, 1), status(items, 2), status(items, 3), status(items, 4)));
        assertEquals("[embed] field [body] of document [bad-number] must be a string, got number [42]", reason(items, 1));
        assertEquals("[embed] field [body] of document [bad-missing] is missing; set ignore_missing to skip such documents", reason(items, 3));

        // the stored vector is exactly what _embed gives for the document role (e5's "passage: " prompt)
        JsonObject source = Node.get("/" + INDEX + "/_doc/good-1").object().getAsJsonObject("_source");
        float[] stored = Node.floats(source.getAsJsonArray("vec"));
        float[] expected = Node.embedAll("e5-small-v2", List.of("A kitten is sleeping on a rug."), "document", 1).get(0);
        assertTrue(VectorOps.cosine(expected, stored) > 0.99999);
        assertEquals(expected.length, stored.length);
        // token_embed into a stored (not indexed) field: "passage: kitten" → [CLS] passage : kitten [SEP], special tokens dropped
        assertEquals(3, source.getAsJsonArray("title_tokens").size());

        // and text_knn finds it with the query role
        Node.Response hits = Node.post("/" + INDEX + "/_search", Node.json(Map.of("size", 1, "_source", false,
            "query", Map.of("text_knn", Map.of("vec", Map.of("query_text", "a sleeping cat", "k", 1))))));
        assertEquals("good-1", hits.object().getAsJsonObject("hits").getAsJsonArray("hits").get(0).getAsJsonObject().get("_id").getAsString());
    }

    @Test
    void pipelineConfigurationIsCheckedWhenThePipelineIsCreated() {
        assertPipelineError("{\"embed\": {\"model\": \"nope\", \"field_map\": {\"a\": \"b\"}}}",
            "[model] model [nope] not found; available: [all-MiniLM-L6-v2, bge-small-en-v1.5, e5-small-v2]");
        assertPipelineError("{\"embed\": {\"model\": \"bge-small-en-v1.5\", \"field_map\": {\"a\": \"b\"}, \"dimensions\": 128}}",
            "[dimensions] [128] is not available: model [bge-small-en-v1.5] is not declared Matryoshka");
        assertPipelineError("{\"embed\": {\"field_map\": {}}}", "[field_map] must map at least one text field to a vector field");
        assertPipelineError("{\"embed\": {\"field_map\": {\"a\": \"b\"}, \"task\": \"rerank\"}}", "[task] unknown task [rerank]; allowed: [embed, token_embed]");
        assertPipelineError("{\"embed\": {\"model\": \"bge-small-en-v1.5\"}}", "[field_map] required property is missing");
    }

    private static void assertPipelineError(String processor, String reason) {
        Node.Response r = Node.put("/_ingest/pipeline/it-bad", "{\"processors\": [" + processor + "]}");
        assertEquals(400, r.status(), String.valueOf(r.body()));
        assertEquals(reason, r.reason());
    }

    private static int status(JsonArray items, int i) {
        return items.get(i).getAsJsonObject().getAsJsonObject("index").get("status").getAsInt();
    }

    private static String reason(JsonArray items, int i) {
        return items.get(i).getAsJsonObject().getAsJsonObject("index").getAsJsonObject("error").get("reason").getAsString();
    }
}
