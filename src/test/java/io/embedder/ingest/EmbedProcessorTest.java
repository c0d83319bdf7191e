package io.embedder.ingest;

import io.embedder.core.Embedder;
import io.embedder.core.Task;
import io.embedder.core.TestData;
import io.embedder.core.runtime.LoadedModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opensearch.OpenSearchStatusException;
import org.opensearch.ingest.IngestDocument;
import org.opensearch.ingest.IngestDocumentWrapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Failures in a batch stay with the documents they concern, and every document is answered. */
class EmbedProcessorTest {

    @TempDir
    Path models;

    private static IngestDocumentWrapper doc(int slot, Object body) {
        Map<String, Object> source = new HashMap<>();
        if (body != null) {
            source.put("body", body);
        }
        return new IngestDocumentWrapper(slot, 0, new IngestDocument("idx", "d" + slot, null, null, null, source), null);
    }

    private static List<IngestDocumentWrapper> run(EmbedProcessor p, List<IngestDocumentWrapper> docs) {
        AtomicInteger calls = new AtomicInteger();
        List<IngestDocumentWrapper> out = new ArrayList<>();
        p.batchExecute(docs, done -> {
            calls.incrementAndGet();
            out.addAll(done);
        });
        assertEquals(1, calls.get(), "the handler is called once");
        return out;
    }

    @Test
    void badDocumentsFailAloneAndGoodOnesGetVectors() {
        TestData.assumeModel("bge-small-en-v1.5");
        try (Embedder embedder = TestData.embedder()) {
            EmbedProcessor p = new EmbedProcessor("t", null, 10, () -> embedder, Runnable::run, "bge-small-en-v1.5", Map.of("body", "vec"),
                Task.EMBED, null, false);
            List<IngestDocumentWrapper> out = run(p, List.of(doc(0, "a cat"), doc(1, 42), doc(2, null), doc(3, "a dog")));
            assertEquals(4, out.size());
            assertNull(out.get(0).getException());
            assertEquals(384, out.get(0).getIngestDocument().getFieldValue("vec", List.class).size());
            assertEquals("[embed] field [body] of document [d1] must be a string, got number [42]", out.get(1).getException().getMessage());
            assertEquals("[embed] field [body] of document [d2] is missing; set ignore_missing to skip such documents",
                out.get(2).getException().getMessage());
            assertNull(out.get(3).getException());
        }
    }

    @Test
    void aFailingModelFailsOnlyThatBatchsDocumentsAndReportsEachOne() throws IOException {
        Path dir = Files.createDirectories(models.resolve("broken"));
        Files.writeString(dir.resolve("model.onnx"), "not a graph");
        Files.writeString(dir.resolve("tokenizer.json"), "{}");
        Files.writeString(dir.resolve("embedder-model.json"), "{\"pooling\": \"cls\", \"normalize\": true, \"max_tokens\": 8}");
        try (Embedder embedder = new Embedder(models, new LoadedModel.Limits(8, 4096, 1, Long.MAX_VALUE, 1), Path.of("target/djl-cache"))) {
            EmbedProcessor p = new EmbedProcessor("t", null, 10, () -> embedder, Runnable::run, "broken", Map.of("body", "vec"), Task.EMBED,
                null, false);
            List<IngestDocumentWrapper> out = run(p, List.of(doc(0, "a"), doc(1, 7), doc(2, "b")));
            assertEquals("[embed] field [body] of document [d1] must be a string, got number [7]", out.get(1).getException().getMessage());
            for (int i : new int[] {0, 2}) {
                OpenSearchStatusException e = assertInstanceOf(OpenSearchStatusException.class, out.get(i).getException());
                assertEquals(400, e.status().getStatus());
                assertTrue(e.getMessage().startsWith("model [broken]: cannot load tokenizer"), e.getMessage());
                assertTrue(!out.get(i).getIngestDocument().hasField("vec"));
            }
        }
    }

    @Test
    void aRejectedBatchReportsTheRejectionOnEachDocument() {
        TestData.assumeModel("bge-small-en-v1.5");
        try (Embedder embedder = TestData.embedder()) {
            EmbedProcessor p = new EmbedProcessor("t", null, 10, () -> embedder, r -> {
                throw new java.util.concurrent.RejectedExecutionException("queue full");
            }, "bge-small-en-v1.5", Map.of("body", "vec"), Task.EMBED, null, false);
            List<IngestDocumentWrapper> out = run(p, List.of(doc(0, "a"), doc(1, "b")));
            assertEquals("queue full", out.get(0).getException().getMessage());
            assertEquals("queue full", out.get(1).getException().getMessage());
        }
    }
}
