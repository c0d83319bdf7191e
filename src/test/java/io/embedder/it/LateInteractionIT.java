package io.embedder.it;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code late_interaction} field, query and rescorer through a real node: exact MaxSim on hand-made vectors for
 * every element type, explain, per-document shape errors, and the text path (pipeline token_embed → query_text).
 */
class LateInteractionIT {

    private static final String INDEX = "it-late-interaction";
    private static final String SHAPES = INDEX + "-shapes";
    private static final String TEXT = INDEX + "-text";
    private static final double EPS = 1e-5;
    private static final double R8 = Math.sqrt(8);

    /** dims 8; every vector's components are 0 or ±its max, so int8 storage is exact too. */
    private static final String DOC_A = "[[2,0,0,0,0,0,0,0],[0,-1,0,0,0,0,0,0],[0,1,1,1,1,1,1,1]]";
    private static final String DOC_B = "[[0,0,1,0,0,0,0,0]]";
    private static final String QUERY = "[[1,0,0,0,0,0,0,0],[0,1,0,0,0,0,0,0]]";

    @BeforeAll
    static void index() {
        Node.delete("/" + INDEX);
        String field = "{\"type\": \"late_interaction\", \"dims\": 8, \"element_type\": \"%s\"}";
        assertEquals(200, Node.put("/" + INDEX, "{\"settings\": {\"number_of_shards\": 2}, \"mappings\": {\"properties\": {"
            + "\"f\": " + field.formatted("float") + ", \"b\": " + field.formatted("byte") + ", \"s\": " + field.formatted("bit")
            + ", \"tag\": {\"type\": \"keyword\"}, \"body\": {\"type\": \"text\"}}}}").status());
        String bulk = "{\"index\":{\"_index\":\"" + INDEX + "\",\"_id\":\"A\"}}\n"
            + "{\"tag\": \"a\", \"body\": \"alpha\", \"f\": " + DOC_A + ", \"b\": " + DOC_A + ", \"s\": " + DOC_A + "}\n"
            + "{\"index\":{\"_index\":\"" + INDEX + "\",\"_id\":\"B\"}}\n"
            + "{\"tag\": \"b\", \"body\": \"alpha beta\", \"f\": " + DOC_B + ", \"b\": " + DOC_B + ", \"s\": " + DOC_B + "}\n"
            + "{\"index\":{\"_index\":\"" + INDEX + "\",\"_id\":\"C\"}}\n"
            + "{\"tag\": \"c\", \"body\": \"alpha gamma\"}\n";
        JsonObject r = Node.bulk(bulk).object();
        assertEquals(false, r.get("errors").getAsBoolean(), r.toString());
        Node.post("/" + INDEX + "/_refresh", Map.of());
    }

    @AfterAll
    static void cleanUp() {
        for (String path : List.of("/" + INDEX, "/" + SHAPES, "/" + TEXT, "/_ingest/pipeline/it-li-tokens")) {
            Node.delete(path);
        }
    }

    private static Map<String, Double> scores(JsonObject response) {
        Map<String, Double> out = new HashMap<>();
        for (JsonElement hit : response.getAsJsonObject("hits").getAsJsonArray("hits")) {
            out.put(hit.getAsJsonObject().get("_id").getAsString(), hit.getAsJsonObject().get("_score").getAsDouble());
        }
        return out;
    }

    private static JsonObject search(String index, String body) {
        Node.Response r = Node.post("/" + index + "/_search", body);
        assertEquals(200, r.status(), String.valueOf(r.body()));
        return r.object();
    }

    /**
     * By hand, doc A: q1 meets (2, 0, 0) → 2, q2 meets (0, −1, 1) → 1: MaxSim 3 (float and byte). Signs of A's vectors
     * read ±1/√8: q1 → (+, −, −)/√8, q2 → (−, −, +)/√8: MaxSim 2/√8. Doc B: float 0, bit q1 → −1/√8, q2 → −1/√8: −2/√8.
     */
    @Test
    void rescorerGivesExactRawMaxSimForEveryElementType() {
        Map<String, double[]> expected = Map.of("f", new double[] {3, 0}, "b", new double[] {3, 0}, "s", new double[] {2 / R8, -2 / R8});
        for (Map.Entry<String, double[]> e : expected.entrySet()) {
            JsonObject r = search(INDEX, "{\"query\": {\"match\": {\"body\": \"alpha\"}}, \"rescore\": {\"window_size\": 10, "
                + "\"late_interaction\": {\"field\": \"" + e.getKey() + "\", \"query_vectors\": " + QUERY + "}}}");
            Map<String, Double> s = scores(r);
            assertEquals(e.getValue()[0], s.get("A"), EPS, e.getKey());
            assertEquals(e.getValue()[1], s.get("B"), EPS, e.getKey());
            assertEquals(0.0, s.get("C"), EPS, "no token vectors, query_weight 0: " + e.getKey());
            assertEquals("A", r.getAsJsonObject("hits").getAsJsonArray("hits").get(0).getAsJsonObject().get("_id").getAsString());
        }
    }

    @Test
    void queryScoresAreTheDocumentedNonNegativeTransform() {
        Map<String, double[]> raw = Map.of("f", new double[] {3, 0}, "b", new double[] {3, 0}, "s", new double[] {2 / R8, -2 / R8});
        for (Map.Entry<String, double[]> e : raw.entrySet()) {
            JsonObject r = search(INDEX, "{\"query\": {\"late_interaction\": {\"" + e.getKey() + "\": {\"query_vectors\": " + QUERY + "}}}}");
            Map<String, Double> s = scores(r);
            assertEquals(2, s.size(), "only documents with token vectors match: " + s);
            assertEquals((2 + e.getValue()[0]) / 2, s.get("A"), EPS, e.getKey());
            assertEquals((2 + e.getValue()[1]) / 2, s.get("B"), EPS, e.getKey());
        }
        JsonObject filtered = search(INDEX, "{\"query\": {\"late_interaction\": {\"f\": {\"query_vectors\": " + QUERY
            + ", \"filter\": {\"term\": {\"tag\": \"b\"}}, \"boost\": 2}}}}");
        assertEquals(Map.of("B", 2.0), scores(filtered));
    }

    @Test
    void explainShowsTheRawSum() {
        JsonObject r = search(INDEX, "{\"explain\": true, \"query\": {\"ids\": {\"values\": [\"A\"]}}, \"rescore\": {\"window_size\": 10, "
            + "\"late_interaction\": {\"field\": \"f\", \"query_vectors\": " + QUERY + "}}}");
        JsonObject explanation = r.getAsJsonObject("hits").getAsJsonArray("hits").get(0).getAsJsonObject().getAsJsonObject("_explanation");
        assertEquals(3.0, explanation.get("value").getAsDouble(), EPS);
        JsonObject maxSim = explanation.getAsJsonArray("details").get(1).getAsJsonObject().getAsJsonArray("details").get(0).getAsJsonObject();
        assertEquals("MaxSim, sum over 2 query vectors of their best dot product with the document's 3 float vectors in [f]",
            maxSim.get("description").getAsString());
        assertEquals(2.0, maxSim.getAsJsonArray("details").get(0).getAsJsonObject().get("value").getAsDouble(), EPS);
        assertEquals(1.0, maxSim.getAsJsonArray("details").get(1).getAsJsonObject().get("value").getAsDouble(), EPS);

        JsonObject q = search(INDEX, "{\"explain\": true, \"query\": {\"late_interaction\": {\"s\": {\"query_vectors\": " + QUERY + "}}}}");
        for (JsonElement hit : q.getAsJsonObject("hits").getAsJsonArray("hits")) {
            JsonObject e = hit.getAsJsonObject().getAsJsonObject("_explanation");
            double rawSum = e.getAsJsonArray("details").get(0).getAsJsonObject().get("value").getAsDouble();
            assertEquals(hit.getAsJsonObject().get("_id").getAsString().equals("A") ? 2 / R8 : -2 / R8, rawSum, EPS);
        }
    }

    @Test
    void badQueriesAreClearBadRequests() {
        Map<String, String> cases = Map.of(
            "{\"query\": {\"late_interaction\": {\"f\": {\"query_vectors\": [[1,0,0]]}}}}",
            "[late_interaction] query vectors have 3 dimensions, but field [f] has [dims] 8",
            "{\"query\": {\"late_interaction\": {\"tag\": {\"query_vectors\": " + QUERY + "}}}}",
            "[late_interaction] field [tag] is of type [keyword], not [late_interaction]",
            "{\"query\": {\"late_interaction\": {\"f\": {\"query_vectors\": [[1,0],[1]]}}}}",
            "[late_interaction] [query_vectors] of field [f] vector [1] has 1 dimensions, but vector [0] has 2",
            "{\"query\": {\"late_interaction\": {\"f\": {\"query_text\": \"x\", \"query_vectors\": " + QUERY + "}}}}",
            "[late_interaction] on field [f] needs exactly one of [query_text] and [query_vectors]",
            "{\"query\": {\"late_interaction\": {\"f\": {\"query_text\": \"hello\"}}}}",
            "[late_interaction] does not know which model embedded field [f]: no searched index [" + INDEX + "] maps it as [late_interaction] "
                + "with a [model]; set [model] in the mapping or in the request, or give [query_vectors]",
            "{\"query\": {\"match_all\": {}}, \"rescore\": {\"late_interaction\": {\"field\": \"f\", \"query_vectors\": " + QUERY
                + ", \"window\": 3}}}",
            "[rescore.late_interaction] does not support [window]; it takes [field, query_text, query_vectors, model, query_weight, rescore_weight]",
            "{\"query\": {\"match_all\": {}}, \"rescore\": {\"late_interaction\": {\"field\": \"f\", \"query_text\": \"hi\", \"model\": \"no-such-model\"}}}",
            "model [no-such-model] not found");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            Node.Response r = Node.post("/" + INDEX + "/_search", c.getKey());
            String body = String.valueOf(r.body());
            assertTrue(r.status() == 400 || r.status() == 404, c.getKey() + " -> " + r.status() + " " + body);
            assertTrue(body.contains(c.getValue().replace("\"", "\\\"")), c.getKey() + "\nexpected: " + c.getValue() + "\ngot: " + body);
        }
    }

    @Test
    void wrongShapesAreRejectedPerDocumentWithTheirReason() {
        Node.delete("/" + SHAPES);
        assertEquals(200, Node.put("/" + SHAPES, "{\"mappings\": {\"properties\": {\"tokens\": {\"type\": \"late_interaction\", \"dims\": 3, "
            + "\"max_vectors\": 2}}}}").status());
        List<String> docs = List.of(
            "{\"tokens\": [[0.1, 0.2, 0.3], [1, 2, 3]]}",
            "{\"tokens\": [[1, 2, 3], [4, 5]]}",
            "{\"tokens\": [0.1, 0.2, 0.3]}",
            "{\"tokens\": [[\"a\", \"b\", \"c\"]]}",
            "{\"tokens\": []}",
            "{\"tokens\": [[[1, 2, 3]]]}",
            "{\"tokens\": \"not vectors\"}",
            "{\"tokens\": [[1e39, 0, 0]]}",
            "{\"tokens\": [[1, 2, 3, 4]]}",
            "{\"tokens\": [[1, 2, 3], [1, 2, 3], [1, 2, 3]]}");
        StringBuilder bulk = new StringBuilder();
        for (int i = 0; i < docs.size(); i++) {
            bulk.append("{\"index\":{\"_index\":\"").append(SHAPES).append("\",\"_id\":\"d").append(i).append("\"}}\n").append(docs.get(i)).append('\n');
        }
        JsonArray items = Node.bulk(bulk.toString()).object().getAsJsonArray("items");
        String prefix = "field [tokens] of type [late_interaction] ";
        List<String> expected = List.of(
            "",
            "vector [1] has 2 dimensions, but the field has [dims] 3",
            "must be an array of vectors, but element [0] is VALUE_NUMBER, not an array of numbers",
            "vector [0] must hold numbers, got VALUE_STRING",
            "must hold at least one vector",
            "vector [0] must hold numbers, got START_ARRAY",
            "must be an array of vectors, got VALUE_STRING",
            "vector [0] holds a value that is not a finite float: [1e39]",
            "vector [0] has 4 dimensions, but the field has [dims] 3",
            "holds more than [max_vectors] 2 vectors");
        for (int i = 0; i < docs.size(); i++) {
            JsonObject item = items.get(i).getAsJsonObject().getAsJsonObject("index");
            if (i == 0) {
                assertEquals(201, item.get("status").getAsInt(), item.toString());
                continue;
            }
            assertEquals(400, item.get("status").getAsInt(), item.toString());
            JsonObject error = item.getAsJsonObject("error");
            assertEquals("mapper_parsing_exception", error.get("type").getAsString());
            assertTrue(error.get("reason").getAsString().startsWith("failed to parse field [tokens] of type [late_interaction] in document with id 'd"
                + i + "'"), error.toString());
            assertEquals(prefix + expected.get(i), error.getAsJsonObject("caused_by").get("reason").getAsString(), "document d" + i);
        }
    }

    @Test
    void mappingParametersAreValidated() {
        Map<String, String> cases = Map.of(
            "{\"type\": \"late_interaction\"}", "[dims] of a [late_interaction] field must be between 1 and 4096, got [0]",
            "{\"type\": \"late_interaction\", \"dims\": 5000}", "[dims] of a [late_interaction] field must be between 1 and 4096, got [5000]",
            "{\"type\": \"late_interaction\", \"dims\": 8, \"element_type\": \"half\"}",
            "[element_type] of a [late_interaction] field: unknown element_type [half]; allowed: [float, byte, bit]",
            "{\"type\": \"late_interaction\", \"dims\": 12, \"element_type\": \"bit\"}",
            "[dims] of a [late_interaction] field with [element_type] [bit] must be a multiple of 8, got [12]",
            "{\"type\": \"late_interaction\", \"dims\": 8, \"max_vectors\": 0}",
            "[max_vectors] of a [late_interaction] field must be between 1 and 8192, got [0]");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            Node.Response r = Node.put("/" + INDEX + "-bad", "{\"mappings\": {\"properties\": {\"t\": " + c.getKey() + "}}}");
            assertEquals(400, r.status(), c.getKey() + " " + r.body());
            assertTrue(r.body().toString().contains(c.getValue()), c.getKey() + "\nexpected: " + c.getValue() + "\ngot: " + r.body());
        }
    }

    /** Token vectors from the pipeline; a query text embedded on the coordinator scores as its `_embed` vectors do. */
    @Test
    void queryTextScoresAsItsEmbeddedTokens() {
        assertEquals(200, Node.put("/_ingest/pipeline/it-li-tokens",
            "{\"processors\": [{\"embed\": {\"model\": \"bge-small-en-v1.5\", \"task\": \"token_embed\", \"field_map\": {\"body\": \"tokens\"}}}]}").status());
        Node.delete("/" + TEXT);
        assertEquals(200, Node.put("/" + TEXT, "{\"settings\": {\"default_pipeline\": \"it-li-tokens\", \"number_of_shards\": 3}, "
            + "\"mappings\": {\"properties\": {\"body\": {\"type\": \"text\"}, \"tokens\": {\"type\": \"late_interaction\", \"dims\": 384, "
            + "\"model\": \"bge-small-en-v1.5\"}}}}").status());
        List<String> bodies = List.of("The cat sat on the mat.", "Dogs chase cats in the garden.", "Stock markets fell sharply today.",
            "A kitten sleeps on a rug.");
        StringBuilder bulk = new StringBuilder();
        for (int i = 0; i < bodies.size(); i++) {
            bulk.append("{\"index\":{\"_index\":\"").append(TEXT).append("\",\"_id\":\"").append(i).append("\"}}\n")
                .append(Node.json(Map.of("body", bodies.get(i)))).append('\n');
        }
        assertEquals(false, Node.bulk(bulk.toString()).object().get("errors").getAsBoolean());
        Node.post("/" + TEXT + "/_refresh", Map.of());

        String text = "where is the cat sleeping";
        Node.Response embedded = Node.embed("bge-small-en-v1.5", Map.of("texts", List.of(text), "task", "token_embed", "role", "query"));
        assertEquals(200, embedded.status(), String.valueOf(embedded.body()));
        String vectors = embedded.object().getAsJsonArray("embeddings").get(0).toString();

        long before = inferences();
        Map<String, Double> byText = scores(search(TEXT, "{\"query\": {\"late_interaction\": {\"tokens\": {\"query_text\": \"" + text + "\"}}}}"));
        assertEquals(before + 1, inferences(), "one inference per search, on the coordinator, whatever the number of shards (3)");
        Map<String, Double> byVectors = scores(search(TEXT, "{\"query\": {\"late_interaction\": {\"tokens\": {\"query_vectors\": " + vectors + "}}}}"));
        assertEquals(4, byText.size());
        for (String id : byVectors.keySet()) {
            assertEquals(byVectors.get(id), byText.get(id), EPS, id);
        }
        Map<String, Double> rescored = scores(search(TEXT, "{\"query\": {\"match\": {\"body\": \"cat cats kitten\"}}, \"rescore\": {\"window_size\": 50, "
            + "\"late_interaction\": {\"field\": \"tokens\", \"query_text\": \"" + text + "\"}}}"));
        assertEquals(before + 2, inferences(), "the rescorer's text too is embedded once per search");
        for (String id : rescored.keySet()) {
            assertEquals(2 * byVectors.get(id) - countQueryVectors(vectors), rescored.get(id), 1e-4, "rescore gives the raw MaxSim: " + id);
        }
        String best = search(TEXT, "{\"query\": {\"late_interaction\": {\"tokens\": {\"query_text\": \"" + text + "\"}}}}")
            .getAsJsonObject("hits").getAsJsonArray("hits").get(0).getAsJsonObject().get("_id").getAsString();
        assertTrue(best.equals("0") || best.equals("3"), "a cat/kitten sentence ranks first, got " + best);
    }

    private static long inferences() {
        return Node.inferenceCount(Node.base());
    }

    private static int countQueryVectors(String json) {
        return com.google.gson.JsonParser.parseString(json).getAsJsonArray().size();
    }
}
