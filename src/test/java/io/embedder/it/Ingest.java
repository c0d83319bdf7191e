package io.embedder.it;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.embedder.core.pooling.VectorOps;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the ingest ITs share: bulks of documents, their items, stored sources, the node's stats, vector checks. */
final class Ingest {

    private Ingest() {}

    static final String KNN_384 = "{\"type\": \"knn_vector\", \"dimension\": 384, "
        + "\"method\": {\"name\": \"hnsw\", \"engine\": \"lucene\", \"space_type\": \"cosinesimil\"}}";

    static void createPipeline(String name, String processors) {
        Node.Response r = Node.put("/_ingest/pipeline/" + name, "{\"processors\": [" + processors + "]}");
        assertEquals(200, r.status(), String.valueOf(r.body()));
    }

    static void createIndex(String index, String settings, String properties) {
        Node.delete("/" + index);
        Node.Response r = Node.put("/" + index, "{\"settings\": {\"index.knn\": true, \"number_of_replicas\": 0" + (settings.isEmpty() ? "" : ", " + settings)
            + "}, \"mappings\": {\"properties\": " + properties + "}}");
        assertEquals(200, r.status(), String.valueOf(r.body()));
    }

    /** Bulk-indexes {@code docs} (id → JSON source) into {@code index}; returns the items in order. */
    static JsonArray bulk(String index, Map<String, String> docs, String params) {
        StringBuilder body = new StringBuilder();
        docs.forEach((id, json) -> body.append("{\"index\":{\"_index\":\"").append(index).append("\",\"_id\":\"").append(id).append("\"}}\n")
            .append(json).append('\n'));
        Node.Response r = Node.post("/_bulk?refresh=true" + params, body.toString());
        assertEquals(200, r.status(), String.valueOf(r.body()));
        return r.object().getAsJsonArray("items");
    }

    static JsonObject item(JsonArray items, int i) {
        return items.get(i).getAsJsonObject().getAsJsonObject("index");
    }

    static int status(JsonArray items, int i) {
        return item(items, i).get("status").getAsInt();
    }

    static String reason(JsonArray items, int i) {
        return item(items, i).getAsJsonObject("error").get("reason").getAsString();
    }

    static List<Integer> statuses(JsonArray items) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            out.add(status(items, i));
        }
        return out;
    }

    static JsonObject source(String index, String id) {
        Node.Response r = Node.get("/" + index + "/_doc/" + id);
        assertEquals(200, r.status(), String.valueOf(r.body()));
        return r.object().getAsJsonObject("_source");
    }

    /** A counter of {@code GET _plugins/_embedder/stats}. */
    static long stat(String name) {
        return Node.localStats(Node.base()).get(name).getAsLong();
    }

    /** The {@code _embed} vector of {@code text} with the document role. */
    static float[] embedded(String model, String text) {
        return Node.embedAll(model, List.of(text), "document", 1).get(0);
    }

    /** {@code stored} is the vector {@code _embed} gives {@code text} with the document role (batched inference may differ in the last bits). */
    static void assertEmbeds(String model, String text, JsonElement stored) {
        float[] expected = embedded(model, text);
        float[] actual = Node.floats(stored.getAsJsonArray());
        assertEquals(expected.length, actual.length);
        double cosine = VectorOps.cosine(expected, actual);
        assertTrue(cosine > 0.99999, "cosine " + cosine + " for [" + text + "]");
    }
}
