package io.embedder.it;

import com.google.gson.JsonArray;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * ONNX Runtime failing in the middle of a real node's bulk: a model directory whose descriptor allows 1,024 tokens
 * while its graph (bge-small-en-v1.5's) has 512 positions, so a longer text makes the graph's position lookup fail
 * inside the session run. Only the documents of that ONNX batch fail, with the runtime's reason; the others of the
 * bulk are indexed, and the node and the model keep serving.
 */
class InferenceFaultIT {

    private static final String MODEL = "it-fault-positions";
    private static final String INDEX = "it-fault";

    @Test
    void aFailingOnnxRunFailsOnlyItsBatchsDocuments() throws Exception {
        Path models = Node.modelsDir();
        assumeTrue(models != null, "tests.node.models not given");
        Path dir = Files.createDirectories(models.resolve(MODEL));
        try {
            for (String f : List.of("model.onnx", "tokenizer.json")) {
                Files.createLink(dir.resolve(f), models.resolve("bge-small-en-v1.5").resolve(f)); // hard links: no copy
            }
            Files.writeString(dir.resolve("embedder-model.json"), "{\"pooling\": \"cls\", \"normalize\": true, \"max_tokens\": 1024}");
            Ingest.createPipeline("it-fault-embed", "{\"embed\": {\"model\": \"" + MODEL + "\", \"field_map\": {\"body\": \"vec\"}}}");
            Ingest.createIndex(INDEX, "\"default_pipeline\": \"it-fault-embed\"", "{\"vec\": " + Ingest.KNN_384 + "}");
            long failuresBefore = Node.localStats(Node.base()).getAsJsonObject("models").getAsJsonObject(MODEL) == null ? 0
                : modelStat("failures");

            Map<String, String> docs = new LinkedHashMap<>();
            docs.put("short-1", Node.json(Map.of("body", "a short text about cats")));
            docs.put("long", Node.json(Map.of("body", "classification of library documents ".repeat(200))));
            docs.put("short-2", Node.json(Map.of("body", "another short text about markets")));
            docs.put("short-3", Node.json(Map.of("body", "rain over the hills")));
            JsonArray items = Ingest.bulk(INDEX, docs, "");

            assertEquals(List.of(201, 500, 201, 201), Ingest.statuses(items), items.toString());
            assertTrue(Ingest.reason(items, 1).startsWith("[embed] document [long]: ONNX inference failed: "), Ingest.reason(items, 1));
            for (String id : List.of("short-1", "short-2", "short-3")) {
                Ingest.assertEmbeds("bge-small-en-v1.5", Ingest.source(INDEX, id).get("body").getAsString(), Ingest.source(INDEX, id).get("vec"));
            }
            assertEquals(3, Node.get("/" + INDEX + "/_count").object().get("count").getAsLong());
            // the failed run counts in the model's stats; the model and the node keep serving
            assertTrue(modelStat("failures") > failuresBefore);
            assertEquals(2, Node.embedAll(MODEL, List.of("still fine", "and this"), null, 2).size());
            assertEquals("green", Node.get("/_cluster/health/" + INDEX).object().get("status").getAsString());
        } finally {
            Node.delete("/" + INDEX);
            Node.delete("/_ingest/pipeline/it-fault-embed");
            Node.post("/_plugins/_embedder/models/" + MODEL + "/_unload", "{}");
            for (String f : List.of("model.onnx", "tokenizer.json", "embedder-model.json")) {
                Files.deleteIfExists(dir.resolve(f));
            }
            Files.deleteIfExists(dir);
        }
    }

    private static long modelStat(String name) {
        return Node.localStats(Node.base()).getAsJsonObject("models").getAsJsonObject(MODEL).get(name).getAsLong();
    }
}
