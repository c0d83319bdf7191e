package io.embedder.it;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code multi_vector} field: token vectors from the pipeline go in; every wrong shape is a 400 for that document alone. */
class MultiVectorIT {

    private static final String INDEX = "it-multi-vector";

    @AfterAll
    static void cleanUp() {
        Node.delete("/" + INDEX);
        Node.delete("/" + INDEX + "-tokens");
        Node.delete("/_ingest/pipeline/it-tokens");
    }

    @Test
    void wrongShapesAreRejectedPerDocumentWithTheirReason() {
        Node.delete("/" + INDEX);
        assertEquals(200, Node.put("/" + INDEX, "{\"mappings\": {\"properties\": {\"tokens\": {\"type\": \"multi_vector\", \"dims\": 3}}}}").status());
        List<String> docs = List.of(
            "{\"tokens\": [[0.1, 0.2, 0.3], [1, 2, 3]]}",
            "{\"tokens\": [[1, 2, 3], [4, 5]]}",
            "{\"tokens\": [0.1, 0.2, 0.3]}",
            "{\"tokens\": [[\"a\", \"b\", \"c\"]]}",
            "{\"tokens\": []}",
            "{\"tokens\": [[[1, 2, 3]]]}",
            "{\"tokens\": \"not vectors\"}",
            "{\"tokens\": [[1e39, 0, 0]]}",
            "{\"tokens\": [[1, 2, 3, 4]]}");
        StringBuilder bulk = new StringBuilder();
        for (int i = 0; i < docs.size(); i++) {
            bulk.append("{\"index\":{\"_index\":\"").append(INDEX).append("\",\"_id\":\"d").append(i).append("\"}}\n").append(docs.get(i)).append('\n');
        }
        JsonArray items = Node.bulk(bulk.toString()).object().getAsJsonArray("items");
        List<String> expected = List.of(
            "",
            "field [tokens] of type [multi_vector] vector [1] has 2 dimensions, but the field has [dims] 3",
            "field [tokens] of type [multi_vector] must be an array of vectors, but element [0] is VALUE_NUMBER, not an array of numbers",
            "field [tokens] of type [multi_vector] vector [0] must hold numbers, got VALUE_STRING",
            "field [tokens] of type [multi_vector] must hold at least one vector",
            "field [tokens] of type [multi_vector] vector [0] must hold numbers, got START_ARRAY",
            "field [tokens] of type [multi_vector] must be an array of vectors, got VALUE_STRING",
            "field [tokens] of type [multi_vector] vector [0] holds a value that is not a finite float: [1e39]",
            "field [tokens] of type [multi_vector] vector [0] has 4 dimensions, but the field has [dims] 3");
        for (int i = 0; i < docs.size(); i++) {
            JsonObject item = items.get(i).getAsJsonObject().getAsJsonObject("index");
            if (i == 0) {
                assertEquals(201, item.get("status").getAsInt(), item.toString());
                continue;
            }
            assertEquals(400, item.get("status").getAsInt(), item.toString());
            JsonObject error = item.getAsJsonObject("error");
            assertEquals("mapper_parsing_exception", error.get("type").getAsString());
            assertTrue(error.get("reason").getAsString().startsWith("failed to parse field [tokens] of type [multi_vector] in document with id 'd" + i + "'"),
                error.toString());
            assertEquals(expected.get(i), error.getAsJsonObject("caused_by").get("reason").getAsString(), "document d" + i);
        }
    }

    @Test
    void mappingParametersAreValidated() {
        Node.Response noDims = Node.put("/" + INDEX + "-bad", "{\"mappings\": {\"properties\": {\"t\": {\"type\": \"multi_vector\"}}}}");
        assertEquals(400, noDims.status(), String.valueOf(noDims.body()));
        assertTrue(noDims.body().toString().contains("[dims] of a [multi_vector] field must be between 1 and 4096, got [0]"), noDims.body().toString());
        Node.Response tooMany = Node.put("/" + INDEX + "-bad", "{\"mappings\": {\"properties\": {\"t\": {\"type\": \"multi_vector\", \"dims\": 5000}}}}");
        assertEquals(400, tooMany.status());
        assertTrue(tooMany.body().toString().contains("got [5000]"), tooMany.body().toString());
    }

    @Test
    void tokenEmbeddingsFromThePipelineFitTheField() {
        assertEquals(200, Node.put("/_ingest/pipeline/it-tokens",
            "{\"processors\": [{\"embed\": {\"model\": \"bge-small-en-v1.5\", \"task\": \"token_embed\", \"field_map\": {\"body\": \"tokens\"}}}]}").status());
        Node.delete("/" + INDEX + "-tokens");
        assertEquals(200, Node.put("/" + INDEX + "-tokens", "{\"settings\": {\"default_pipeline\": \"it-tokens\"}, "
            + "\"mappings\": {\"properties\": {\"tokens\": {\"type\": \"multi_vector\", \"dims\": 384}}}}").status());
        Node.Response r = Node.put("/" + INDEX + "-tokens/_doc/1?refresh=true", Node.json(Map.of("body", "Hello world!")));
        assertEquals(201, r.status(), String.valueOf(r.body()));
        JsonArray tokens = Node.get("/" + INDEX + "-tokens/_doc/1").object().getAsJsonObject("_source").getAsJsonArray("tokens");
        assertEquals(3, tokens.size()); // [CLS] hello world ! [SEP], special tokens dropped
        assertEquals(384, tokens.get(0).getAsJsonArray().size());
    }
}
