package io.embedder.it;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.embedder.it.Ingest.assertEmbeds;
import static io.embedder.it.Ingest.bulk;
import static io.embedder.it.Ingest.source;
import static io.embedder.it.Ingest.stat;
import static io.embedder.it.Ingest.statuses;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Re-indexing through the {@code embed} processor: {@code skip_existing} reuses the stored vector of an unchanged
 * text (the node's {@code text_count} does not move, its {@code reused_texts} does), and the processor runs in
 * reindex, {@code index.default_pipeline} and {@code index.final_pipeline}.
 */
class IngestReuseIT {

    private static final String BGE = "bge-small-en-v1.5";
    private static final String INDEX = "it-reuse";

    @AfterAll
    static void tearDown() {
        for (String suffix : List.of("", "-routed", "-src", "-dst", "-dst2")) {
            Node.delete("/" + INDEX + suffix);
        }
        for (String p : List.of("it-skip", "it-skip-body", "it-final-title")) {
            Node.delete("/_ingest/pipeline/" + p);
        }
    }

    /** Counters before an operation; {@link #assertSince} checks how they moved. */
    private record Counters(long texts, long reused) {
        static Counters now() {
            return new Counters(stat("text_count"), stat("reused_texts"));
        }

        void assertSince(long embedded, long reusedTexts, String what) {
            assertEquals(texts + embedded, stat("text_count"), what + ": texts embedded");
            assertEquals(reused + reusedTexts, stat("reused_texts"), what + ": texts reused");
        }
    }

    @Test
    void skipExistingReusesTheStoredVectorOfAnUnchangedText() {
        Ingest.createPipeline("it-skip", "{\"embed\": {\"field_map\": {\"body\": \"vec\", \"tags\": \"tag_vecs\"}, \"ignore_missing\": true, "
            + "\"skip_existing\": true}}");
        Ingest.createIndex(INDEX, "\"number_of_shards\": 3, \"default_pipeline\": \"it-skip\"",
            "{\"vec\": " + Ingest.KNN_384 + ", \"tag_vecs\": {\"type\": \"object\", \"enabled\": false}}");

        Counters c = Counters.now();
        assertEquals(201, Node.put("/" + INDEX + "/_doc/1?refresh=true", "{\"body\": \"A kitten sleeps.\", \"tags\": [\"a\", \"b\"]}").status());
        c.assertSince(3, 0, "first indexing");
        JsonObject first = source(INDEX, "1");
        assertEmbeds(BGE, "A kitten sleeps.", first.get("vec"));

        c = Counters.now();
        assertEquals(200, Node.put("/" + INDEX + "/_doc/1?refresh=true", "{\"body\": \"A kitten sleeps.\", \"tags\": [\"a\", \"b\"], \"views\": 2}")
            .status());
        c.assertSince(0, 3, "same texts, another field changed");
        JsonObject second = source(INDEX, "1");
        assertEquals(first.get("vec"), second.get("vec"));
        assertEquals(first.get("tag_vecs"), second.get("tag_vecs"));
        assertEquals(2, second.get("views").getAsInt());

        c = Counters.now();
        assertEquals(200, Node.put("/" + INDEX + "/_doc/1?refresh=true", "{\"body\": \"A puppy barks.\", \"tags\": [\"a\", \"b\"]}").status());
        c.assertSince(1, 2, "body changed, tags not: per field");
        assertEmbeds(BGE, "A puppy barks.", source(INDEX, "1").get("vec"));

        c = Counters.now();
        assertEquals(200, Node.put("/" + INDEX + "/_doc/1?refresh=true", "{\"body\": \"A puppy barks.\", \"tags\": [\"b\", \"a\"]}").status());
        c.assertSince(2, 1, "the tags reordered are other texts at their paths");
        assertEmbeds(BGE, "b", source(INDEX, "1").getAsJsonArray("tag_vecs").get(0));
    }

    @Test
    void skipExistingDecidesPerDocumentInABulkAndFollowsRouting() {
        Ingest.createPipeline("it-skip-body", "{\"embed\": {\"field_map\": {\"body\": \"vec\"}, \"skip_existing\": true}}");
        String index = INDEX + "-routed";
        Ingest.createIndex(index, "\"number_of_shards\": 3", "{\"vec\": " + Ingest.KNN_384 + "}");
        Map<String, String> docs = new LinkedHashMap<>();
        for (int i = 0; i < 6; i++) {
            docs.put("r" + i, "{\"body\": \"routed text " + i + "\"}");
        }
        // custom routing: the stored documents are found only if the lookup passes it on
        Counters c = Counters.now();
        assertEquals(List.of(201, 201, 201, 201, 201, 201), statuses(routedBulk(index, docs)));
        c.assertSince(6, 0, "first bulk");
        docs.put("r2", "{\"body\": \"routed text 2, edited\"}");
        docs.put("r6", "{\"body\": \"a new document\"}");
        c = Counters.now();
        assertEquals(List.of(200, 200, 200, 200, 200, 200, 201), statuses(routedBulk(index, docs)));
        c.assertSince(2, 5, "the edited and the new document are embedded, the five others reused");
        assertEmbeds(BGE, "routed text 2, edited", routedSource(index, "r2").get("vec"));
        assertEmbeds(BGE, "routed text 4", routedSource(index, "r4").get("vec"));
    }

    private static JsonArray routedBulk(String index, Map<String, String> docs) {
        StringBuilder body = new StringBuilder();
        docs.forEach((id, json) -> body.append("{\"index\":{\"_index\":\"").append(index).append("\",\"_id\":\"").append(id)
            .append("\",\"routing\":\"shard-key-").append(id).append("\"}}\n").append(json).append('\n'));
        Node.Response r = Node.post("/_bulk?refresh=true&pipeline=it-skip-body", body.toString());
        assertEquals(200, r.status(), String.valueOf(r.body()));
        return r.object().getAsJsonArray("items");
    }

    private static JsonObject routedSource(String index, String id) {
        return Node.get("/" + index + "/_doc/" + id + "?routing=shard-key-" + id).object().getAsJsonObject("_source");
    }

    @Test
    void reindexRunsTheDefaultAndFinalPipelinesAndSkipExistingReusesOnASecondRun() {
        Ingest.createPipeline("it-skip-body", "{\"embed\": {\"field_map\": {\"body\": \"vec\"}, \"skip_existing\": true}}");
        Ingest.createPipeline("it-final-title", "{\"embed\": {\"field_map\": {\"title\": \"title_vec\"}, \"ignore_missing\": true}}");
        String src = INDEX + "-src";
        String dst = INDEX + "-dst";
        Ingest.createIndex(src, "", "{\"body\": {\"type\": \"text\"}}");
        Ingest.createIndex(dst, "\"default_pipeline\": \"it-skip-body\", \"final_pipeline\": \"it-final-title\"",
            "{\"vec\": " + Ingest.KNN_384 + ", \"title_vec\": " + Ingest.KNN_384 + "}");
        Map<String, String> docs = new LinkedHashMap<>();
        docs.put("a", "{\"title\": \"Cats\", \"body\": \"A kitten sleeps on a rug.\"}");
        docs.put("b", "{\"title\": \"Markets\", \"body\": \"Stock markets fell sharply.\"}");
        docs.put("c", "{\"body\": \"No title here.\"}");
        assertEquals(List.of(201, 201, 201), statuses(bulk(src, docs, "")));
        assertFalse(source(src, "a").has("vec"), "the source index has no pipeline");

        Counters c = Counters.now();
        reindex(src, dst, null);
        c.assertSince(5, 0, "first reindex: three bodies (default pipeline), two titles (final pipeline)");
        assertEmbeds(BGE, "A kitten sleeps on a rug.", source(dst, "a").get("vec"));
        assertEmbeds(BGE, "Markets", source(dst, "b").get("title_vec"));
        assertFalse(source(dst, "c").has("title_vec"));

        c = Counters.now();
        reindex(src, dst, null);
        c.assertSince(2, 3, "second reindex: the bodies are reused; the final pipeline has no skip_existing, so titles are embedded again");

        // reindex with a pipeline of its own, into an index without pipelines
        String other = INDEX + "-dst2";
        Ingest.createIndex(other, "", "{\"vec\": " + Ingest.KNN_384 + "}");
        c = Counters.now();
        reindex(src, other, "it-skip-body");
        c.assertSince(3, 0, "reindex with dest.pipeline");
        assertEmbeds(BGE, "No title here.", source(other, "c").get("vec"));
    }

    private static void reindex(String from, String to, String pipeline) {
        Map<String, Object> dest = new LinkedHashMap<>(Map.of("index", to));
        if (pipeline != null) {
            dest.put("pipeline", pipeline);
        }
        Node.Response r = Node.post("/_reindex?refresh=true", Node.json(Map.of("source", Map.of("index", from), "dest", dest)));
        assertEquals(200, r.status(), String.valueOf(r.body()));
        assertEquals(0, r.object().getAsJsonArray("failures").size(), r.body().toString());
        assertEquals(3, r.object().get("total").getAsInt());
    }
}
