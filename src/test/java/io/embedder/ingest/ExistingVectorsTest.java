package io.embedder.ingest;

import org.junit.jupiter.api.Test;
import org.opensearch.ingest.IngestDocument;
import org.opensearch.ingest.IngestDocumentWrapper;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The lookup of stored documents: which documents are looked up, and that the batch always goes on. */
class ExistingVectorsTest {

    private static DocumentTexts doc(String id, String routing, String json) {
        Map<String, Object> source = new HashMap<>(FieldTextsTest.source(json));
        IngestDocumentWrapper wrapper = new IngestDocumentWrapper(0, 0, new IngestDocument("idx", id, routing, null, null, source), null);
        return DocumentTexts.find(wrapper, EmbedProcessorTest.options(Map.of("body", "vec")));
    }

    @Test
    void documentsWithoutAnIdAreNotLookedUpAndTheBatchGoesOn() {
        List<ExistingVectors.DocRef> asked = new ArrayList<>();
        ExistingVectors existing = new ExistingVectors((refs, fields, done) -> {
            asked.addAll(refs);
            done.accept(refs.stream().map(r -> (Map<String, Object>) null).toList());
        }, new ReuseCounter());
        AtomicInteger then = new AtomicInteger();
        existing.reuse(List.of(doc(null, null, "{\"body\": \"x\"}")), List.of(new FieldMapping("body", "vec")), then::incrementAndGet);
        assertEquals(List.of(), asked);
        assertEquals(1, then.get());

        existing.reuse(List.of(doc(null, null, "{\"body\": \"x\"}"), doc("7", "r7", "{\"body\": \"y\"}")), List.of(new FieldMapping("body", "vec")),
            then::incrementAndGet);
        assertEquals(List.of(new ExistingVectors.DocRef("idx", "7", "r7")), asked);
        assertEquals(2, then.get());
    }

    @Test
    void storedDocumentsOfAnotherShapeAreEmbeddedAgain() {
        ReuseCounter counter = new ReuseCounter();
        List<Map<String, Object>> stored = List.of(
            FieldTextsTest.source("{\"body\": {\"x\": 1}, \"vec\": [1]}"),     // the text field is an object now
            FieldTextsTest.source("{\"body\": \"same\", \"vec\": \"not a vector\"}"),
            FieldTextsTest.source("{\"body\": \"same\", \"vec\": [0.5]}"));
        ExistingVectors existing = new ExistingVectors((refs, fields, done) -> done.accept(stored), counter);
        List<DocumentTexts> docs = List.of(doc("1", null, "{\"body\": \"same\"}"), doc("2", null, "{\"body\": \"same\"}"),
            doc("3", null, "{\"body\": \"same\"}"));
        AtomicInteger then = new AtomicInteger();
        existing.reuse(docs, List.of(new FieldMapping("body", "vec")), then::incrementAndGet);
        assertEquals(1, then.get());
        assertEquals(List.of(1, 1, 0), docs.stream().map(d -> d.toEmbed().size()).toList());
        assertEquals(1, counter.reusedTexts());
    }
}
