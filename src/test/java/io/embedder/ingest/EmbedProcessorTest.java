package io.embedder.ingest;

import io.embedder.core.EmbedParams;
import io.embedder.core.Embedder;
import io.embedder.core.Role;
import io.embedder.core.Task;
import io.embedder.core.lateinteraction.TokenOptions;
import io.embedder.core.TestData;
import io.embedder.core.pooling.VectorOps;
import io.embedder.core.runtime.LoadedModel;
import io.embedder.core.runtime.Truncation;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opensearch.OpenSearchStatusException;
import org.opensearch.cluster.metadata.Metadata;
import org.opensearch.ingest.IngestDocument;
import org.opensearch.ingest.IngestDocumentWrapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Failures in a batch stay with the documents they concern, every document is answered once, and vectors land where the field map says. */
class EmbedProcessorTest {

    private static final String MODEL = "bge-small-en-v1.5";
    private static Embedder shared;

    @TempDir
    Path models;

    @BeforeAll
    static void open() {
        shared = TestData.embedder();
    }

    @AfterAll
    static void close() {
        shared.close();
    }

    static EmbedOptions options(Map<String, String> fieldMap, Task task, Truncation truncation, boolean ignoreMissing, boolean skipExisting) {
        return new EmbedOptions(MODEL, fieldMap.entrySet().stream().map(e -> new FieldMapping(e.getKey(), e.getValue())).toList(), task, null,
            null, truncation, TokenOptions.DEFAULT, ignoreMissing, skipExisting);
    }

    static EmbedOptions options(Map<String, String> fieldMap) {
        return options(fieldMap, Task.EMBED, Truncation.MODEL_DEFAULT, false, false);
    }

    private static EmbedProcessor processor(EmbedOptions options, Embedder embedder, Executor inference, Metadata metadata,
                                            ExistingVectors existing) {
        return new EmbedProcessor("t", null, 10, options, new EmbedProcessor.Services(() -> embedder, inference,
            new TargetMappings(() -> metadata), existing));
    }

    private static EmbedProcessor processor(EmbedOptions options) {
        return processor(options, shared, Runnable::run, Metadata.EMPTY_METADATA, null);
    }

    static IngestDocumentWrapper doc(int slot, String json) {
        Map<String, Object> source = new HashMap<>(FieldTextsTest.source(json));
        return new IngestDocumentWrapper(slot, 0, new IngestDocument("idx", "d" + slot, null, null, null, source), null);
    }

    private static IngestDocumentWrapper body(int slot, Object body) {
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

    private static float[] alone(String text) {
        return shared.embed(MODEL, EmbedParams.embed(List.of(text), Role.DOCUMENT)).vectors().get(0);
    }

    @SuppressWarnings("unchecked")
    private static float[] vector(Object value) {
        List<Number> list = (List<Number>) value;
        float[] v = new float[list.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = list.get(i).floatValue();
        }
        return v;
    }

    private static void assertSameVector(float[] expected, Object actual) {
        float[] v = vector(actual);
        assertEquals(expected.length, v.length);
        assertTrue(VectorOps.cosine(expected, v) > 0.99999, "cosine " + VectorOps.cosine(expected, v));
    }

    @Test
    void badDocumentsFailAloneAndGoodOnesGetVectors() {
        TestData.assumeModel(MODEL);
        List<IngestDocumentWrapper> out = run(processor(options(Map.of("body", "vec"))),
            List.of(body(0, "a cat"), body(1, 42), body(2, null), body(3, "a dog")));
        assertEquals(4, out.size());
        assertNull(out.get(0).getException());
        assertSameVector(alone("a cat"), out.get(0).getIngestDocument().getFieldValue("vec", List.class));
        assertEquals("[embed] field [body] of document [d1] must be a string or an array of strings, got number [42]",
            out.get(1).getException().getMessage());
        assertEquals("[embed] field [body] of document [d2] is missing; set ignore_missing to skip such documents",
            out.get(2).getException().getMessage());
        assertNull(out.get(3).getException());
        assertSameVector(alone("a dog"), out.get(3).getIngestDocument().getFieldValue("vec", List.class));
    }

    @Test
    void aSubBatchIsOneInferenceCallForAllItsDocumentsAndFields() {
        TestData.assumeModel(MODEL);
        long calls = inferences(shared);
        long texts = texts(shared);
        List<IngestDocumentWrapper> out = run(processor(options(Map.of("body", "vec", "tags", "tag_vecs", "chunks.text", "chunks.vec"))), List.of(
            doc(0, "{\"body\": \"a cat\", \"tags\": [\"pets\", \"animals\"], \"chunks\": [{\"text\": \"whiskers\"}, {\"text\": \"paws\"}]}"),
            doc(1, "{\"body\": \"a dog\", \"tags\": [], \"chunks\": {\"text\": \"a tail\"}}")));
        assertEquals(calls + 1, inferences(shared));
        assertEquals(texts + 7, texts(shared));
        IngestDocument first = out.get(0).getIngestDocument();
        assertSameVector(alone("a cat"), first.getFieldValue("vec", Object.class));
        List<?> tagVecs = first.getFieldValue("tag_vecs", List.class);
        assertEquals(2, tagVecs.size());
        assertSameVector(alone("pets"), tagVecs.get(0));
        assertSameVector(alone("animals"), tagVecs.get(1));
        assertSameVector(alone("whiskers"), first.getFieldValue("chunks.0.vec", Object.class));
        assertSameVector(alone("paws"), first.getFieldValue("chunks.1.vec", Object.class));
        assertEquals("whiskers", first.getFieldValue("chunks.0.text", String.class));
        IngestDocument second = out.get(1).getIngestDocument();
        assertFalse(second.hasField("tag_vecs"), "an empty array has no texts, so no vectors");
        assertSameVector(alone("a tail"), second.getFieldValue("chunks.vec", Object.class));
    }

    @Test
    void tokenEmbedGivesEachTextItsTokenVectors() {
        TestData.assumeModel(MODEL);
        List<IngestDocumentWrapper> out = run(processor(options(Map.of("title", "tokens"), Task.TOKEN_EMBED, Truncation.MODEL_DEFAULT, false, false)),
            List.of(doc(0, "{\"title\": \"kitten\"}")));
        List<?> tokens = out.get(0).getIngestDocument().getFieldValue("tokens", List.class);
        assertEquals(1, tokens.size(), "[CLS] kitten [SEP]: the special tokens are dropped");
        assertEquals(384, ((List<?>) tokens.get(0)).size());
    }

    @Test
    void tokenOptionsReachTheEmbedder() {
        TestData.assumeModel(MODEL);
        String text = "The cat, the dog; and the bird.";
        TokenOptions tokens = new TokenOptions(false, true, 2);
        EmbedOptions base = options(Map.of("body", "tokens"), Task.TOKEN_EMBED, Truncation.MODEL_DEFAULT, false, false);
        EmbedOptions withTokens = new EmbedOptions(base.model(), base.fieldMap(), base.task(), null, null, base.truncation(), tokens, false, false);
        List<IngestDocumentWrapper> out = run(processor(withTokens), List.of(body(0, text)));
        float[][] expected = shared.embed(MODEL, new EmbedParams(List.of(text), Task.TOKEN_EMBED, Role.DOCUMENT, null, null,
            Truncation.MODEL_DEFAULT, tokens)).tokens().get(0);
        float[][] defaults = shared.embed(MODEL, new EmbedParams(List.of(text), Task.TOKEN_EMBED, Role.DOCUMENT, null, null,
            Truncation.MODEL_DEFAULT, TokenOptions.DEFAULT)).tokens().get(0);
        List<?> actual = out.get(0).getIngestDocument().getFieldValue("tokens", List.class);
        assertEquals(expected.length, actual.size());
        assertTrue(actual.size() < defaults.length, "pooled: " + actual.size() + " vectors, against " + defaults.length + " by default");
        for (int i = 0; i < expected.length; i++) {
            assertSameVector(expected[i], actual.get(i));
        }
    }

    @Test
    void aTextTheEmbedderRefusesFailsOnlyItsDocument() {
        TestData.assumeModel(MODEL);
        String tooLong = "cat ".repeat(600);
        long calls = inferences(shared);
        List<IngestDocumentWrapper> out = run(processor(options(Map.of("body", "vec"), Task.EMBED, Truncation.NONE, false, false)),
            List.of(body(0, "a cat"), body(1, tooLong), body(2, "a dog")));
        assertEquals(calls + 1, inferences(shared), "the refused call counts nothing; one call embeds the two good documents");
        assertEquals("[embed] field [body] of document [d1]: text has 602 tokens, more than the model's max_tokens [512], and "
            + "truncate_prompt_tokens is [none]", out.get(1).getException().getMessage());
        assertInstanceOf(IllegalArgumentException.class, out.get(1).getException());
        assertFalse(out.get(1).getIngestDocument().hasField("vec"));
        assertSameVector(alone("a cat"), out.get(0).getIngestDocument().getFieldValue("vec", Object.class));
        assertSameVector(alone("a dog"), out.get(2).getIngestDocument().getFieldValue("vec", Object.class));
    }

    @Test
    void aKnnVectorOfAnotherDimensionFailsItsDocumentsBeforeInference() throws IOException {
        TestData.assumeModel(MODEL);
        Metadata metadata = TargetMappingsTest.metadata("idx", "{\"properties\": {\"vec\": {\"type\": \"knn_vector\", \"dimension\": 256}, "
            + "\"ok\": {\"type\": \"knn_vector\", \"dimension\": 384}}}");
        long calls = inferences(shared);
        List<IngestDocumentWrapper> out = run(processor(options(Map.of("body", "vec")), shared, Runnable::run, metadata, null),
            List.of(body(0, "a cat"), body(1, "a dog")));
        for (IngestDocumentWrapper d : out) {
            assertEquals("[embed] field [vec] of index [idx] is a knn_vector of dimension [256], but model [bge-small-en-v1.5] gives 384 "
                + "dimensions", d.getException().getMessage());
        }
        assertEquals(calls, inferences(shared), "nothing was embedded");

        out = run(processor(options(Map.of("body", "ok")), shared, Runnable::run, metadata, null), List.of(body(0, "a cat")));
        assertNull(out.get(0).getException());

        out = run(processor(options(Map.of("body", "ok"), Task.TOKEN_EMBED, Truncation.MODEL_DEFAULT, false, false), shared, Runnable::run,
            metadata, null), List.of(body(0, "a cat")));
        assertEquals("[embed] field [ok] of index [idx] is a knn_vector (one vector), but task [token_embed] gives one vector per token",
            out.get(0).getException().getMessage());
    }

    @Test
    void aFieldWhoseMetaDeclaresOtherSettingsFailsItsDocumentsBeforeInference() throws IOException {
        TestData.assumeModel(MODEL);
        Metadata metadata = TargetMappingsTest.metadata("idx", """
            {"_meta": {"embedder": {"fields": {
               "e5": {"model": "e5-small-v2"}, "small": {"model": "%1$s", "dimensions": 128}, "raw": {"model": "%1$s", "normalize": false},
               "same": {"model": "%1$s", "dimensions": 384, "normalize": true}, "typo": {"model": "%1$s", "dimension": 384}}}},
             "properties": {"body": {"type": "text"}}}""".formatted(MODEL));
        long calls = inferences(shared);
        String processorSettings = ", which queries on it embed with, but this processor embeds with model [" + MODEL
            + "] dimensions [full] normalize [model default]";
        Map<String, String> expected = Map.of(
            "e5", "[embed] field [e5] of index [idx] is declared in _meta.embedder.fields.e5 as model [e5-small-v2] dimensions [full] "
                + "normalize [model default]" + processorSettings,
            "small", "[embed] field [small] of index [idx] is declared in _meta.embedder.fields.small as model [" + MODEL + "] dimensions "
                + "[128] normalize [model default]" + processorSettings,
            "raw", "[embed] field [raw] of index [idx] is declared in _meta.embedder.fields.raw as model [" + MODEL + "] dimensions [full] "
                + "normalize [false]" + processorSettings,
            "typo", "[embed] field [typo]: index [idx] _meta.embedder.fields.typo has unknown key [dimension]; it takes [model, dimensions, "
                + "normalize]");
        expected.forEach((field, message) -> assertEquals(message, run(processor(options(Map.of("body", field)), shared, Runnable::run,
            metadata, null), List.of(body(0, "a cat"))).get(0).getException().getMessage(), field));
        assertEquals(calls, inferences(shared), "nothing was embedded");

        // the model's defaults said aloud are the same settings; and a processor that says what _meta says is fine
        assertNull(run(processor(options(Map.of("body", "same")), shared, Runnable::run, metadata, null), List.of(body(0, "a cat")))
            .get(0).getException());
        EmbedOptions unnormalized = new EmbedOptions(MODEL, List.of(new FieldMapping("body", "raw")), Task.EMBED, null, false,
            Truncation.MODEL_DEFAULT, TokenOptions.DEFAULT, false, false);
        IngestDocumentWrapper raw = run(processor(unnormalized, shared, Runnable::run, metadata, null), List.of(body(0, "a cat"))).get(0);
        assertNull(raw.getException());
        assertSameVector(shared.embed(MODEL, new EmbedParams(List.of("a cat"), Task.EMBED, Role.DOCUMENT, false, null,
            Truncation.MODEL_DEFAULT)).vectors().get(0), raw.getIngestDocument().getFieldValue("raw", Object.class));
    }

    @Test
    void skipExistingReusesStoredVectorsOfUnchangedTextsPerDocumentAndField() {
        TestData.assumeModel(MODEL);
        List<Double> storedVec = List.of(0.5, 0.25);
        List<List<Double>> storedTagVecs = List.of(List.of(1.0), List.of(2.0));
        Map<String, Map<String, Object>> stored = Map.of(
            "d0", Map.of("body", "a cat", "vec", storedVec, "tags", List.of("x", "y"), "tag_vecs", storedTagVecs), // all unchanged
            "d1", Map.of("body", "an old text", "vec", storedVec, "tags", List.of("x", "y"), "tag_vecs", storedTagVecs), // body changed
            "d3", Map.of("body", "a bird")); // stored without its vector
        List<ExistingVectors.DocRef> asked = new ArrayList<>();
        List<String> fields = new ArrayList<>();
        ReuseCounter counter = new ReuseCounter();
        ExistingVectors existing = new ExistingVectors((refs, f, done) -> {
            asked.addAll(refs);
            fields.addAll(List.of(f));
            done.accept(refs.stream().map(r -> stored.get(r.id())).toList());
        }, counter);
        long texts = texts(shared);
        List<IngestDocumentWrapper> out = run(processor(options(Map.of("body", "vec", "tags", "tag_vecs"), Task.EMBED, Truncation.MODEL_DEFAULT,
                true, true), shared, Runnable::run, Metadata.EMPTY_METADATA, existing),
            List.of(doc(0, "{\"body\": \"a cat\", \"tags\": [\"x\", \"y\"]}"), doc(1, "{\"body\": \"a cat\", \"tags\": [\"x\", \"y\"]}"),
                doc(2, "{\"body\": \"a fish\"}"), doc(3, "{\"body\": \"a bird\"}")));
        assertEquals(texts + 3, texts(shared), "only d1's body, d2 and d3 are embedded");
        assertEquals(5, counter.reusedTexts(), "d0's three texts and d1's two tags");

        assertEquals(List.of("d0", "d1", "d2", "d3"), asked.stream().map(ExistingVectors.DocRef::id).toList());
        assertEquals("idx", asked.get(0).index());
        assertEquals(Set.of("body", "vec", "tags", "tag_vecs"), Set.copyOf(fields));
        // d0: both fields reused; d1: tags reused, body embedded; d2 (not stored) and d3 (no vector stored): embedded
        assertEquals(storedVec, out.get(0).getIngestDocument().getFieldValue("vec", List.class));
        assertEquals(storedTagVecs, out.get(0).getIngestDocument().getFieldValue("tag_vecs", List.class));
        assertSameVector(alone("a cat"), out.get(1).getIngestDocument().getFieldValue("vec", Object.class));
        assertEquals(storedTagVecs, out.get(1).getIngestDocument().getFieldValue("tag_vecs", List.class));
        assertSameVector(alone("a fish"), out.get(2).getIngestDocument().getFieldValue("vec", Object.class));
        assertSameVector(alone("a bird"), out.get(3).getIngestDocument().getFieldValue("vec", Object.class));
    }

    @Test
    void skipExistingWithNothingToEmbedAnswersWithoutInference() {
        ReuseCounter counter = new ReuseCounter();
        ExistingVectors existing = new ExistingVectors((refs, f, done) -> done.accept(List.of(Map.of("body", "a cat", "vec", List.of(1.0)))),
            counter);
        EmbedProcessor p = processor(options(Map.of("body", "vec"), Task.EMBED, Truncation.MODEL_DEFAULT, false, true), shared, r -> {
            throw new AssertionError("no inference expected");
        }, Metadata.EMPTY_METADATA, existing);
        List<IngestDocumentWrapper> out = run(p, List.of(body(0, "a cat")));
        assertEquals(List.of(1.0), out.get(0).getIngestDocument().getFieldValue("vec", List.class));
        assertEquals(1, counter.reusedTexts());
    }

    @Test
    void aVectorFieldThatCannotBeSetFailsItsDocument() {
        TestData.assumeModel(MODEL);
        List<IngestDocumentWrapper> out = run(processor(options(Map.of("body", "meta.vec"))),
            List.of(doc(0, "{\"body\": \"a cat\", \"meta\": \"a string\"}"), doc(1, "{\"body\": \"a dog\"}")));
        assertEquals("[embed] cannot write the vectors of document [d0]: cannot set [vec] with parent object of type [java.lang.String] as part of path [meta.vec]", out.get(0).getException().getMessage());
        assertEquals("a string", out.get(0).getIngestDocument().getFieldValue("meta", String.class));
        assertSameVector(alone("a dog"), out.get(1).getIngestDocument().getFieldValue("meta.vec", Object.class));
    }

    @Test
    void executeRunsOneDocumentThroughTheSamePath() {
        TestData.assumeModel(MODEL);
        EmbedProcessor p = processor(options(Map.of("body", "vec")));
        AtomicInteger calls = new AtomicInteger();
        p.execute(body(0, "a cat").getIngestDocument(), (result, e) -> {
            calls.incrementAndGet();
            assertNull(e);
            assertSameVector(alone("a cat"), result.getFieldValue("vec", Object.class));
        });
        p.execute(body(1, 7).getIngestDocument(), (result, e) -> {
            calls.incrementAndGet();
            assertNull(result);
            assertEquals("[embed] field [body] of document [d1] must be a string or an array of strings, got number [7]", e.getMessage());
        });
        assertEquals(2, calls.get());
    }

    @Test
    void aFailingModelFailsOnlyThatBatchsDocumentsAndReportsEachOne() throws IOException {
        Path dir = Files.createDirectories(models.resolve("broken"));
        Files.writeString(dir.resolve("model.onnx"), "not a graph");
        Files.writeString(dir.resolve("tokenizer.json"), "{}");
        Files.writeString(dir.resolve("embedder-model.json"), "{\"pooling\": \"cls\", \"normalize\": true, \"max_tokens\": 8}");
        try (Embedder embedder = new Embedder(models, new LoadedModel.Limits(8, 4096, 1, Long.MAX_VALUE, 1), Path.of("target/djl-cache"))) {
            EmbedOptions options = new EmbedOptions("broken", List.of(new FieldMapping("body", "vec")), Task.EMBED, null, null,
                Truncation.MODEL_DEFAULT, TokenOptions.DEFAULT, false, false);
            List<IngestDocumentWrapper> out = run(processor(options, embedder, Runnable::run, Metadata.EMPTY_METADATA, null),
                List.of(body(0, "a"), body(1, 7), body(2, "b")));
            assertEquals("[embed] field [body] of document [d1] must be a string or an array of strings, got number [7]",
                out.get(1).getException().getMessage());
            for (int i : new int[] {0, 2}) {
                OpenSearchStatusException e = assertInstanceOf(OpenSearchStatusException.class, out.get(i).getException());
                assertEquals(400, e.status().getStatus());
                assertTrue(e.getMessage().startsWith("model [broken]: cannot load tokenizer"), e.getMessage());
                assertFalse(out.get(i).getIngestDocument().hasField("vec"));
            }
        }
    }

    @Test
    void anOnnxRunThatFailsFailsOnlyTheDocumentsItHeld() throws IOException {
        TestData.assumeModel(MODEL);
        // bge-small's graph has 512 positions; this descriptor lets 1,024 tokens through, so a longer text fails in ONNX Runtime
        Path dir = Files.createDirectories(models.resolve("positions"));
        for (String f : List.of("model.onnx", "tokenizer.json")) {
            Files.createSymbolicLink(dir.resolve(f), TestData.modelsDir().resolve(MODEL).resolve(f).toAbsolutePath());
        }
        Files.writeString(dir.resolve("embedder-model.json"), "{\"pooling\": \"cls\", \"normalize\": true, \"max_tokens\": 1024}");
        try (Embedder embedder = new Embedder(models, new LoadedModel.Limits(8, 4096, 1, Long.MAX_VALUE, 1), Path.of("target/djl-cache"))) {
            EmbedOptions options = new EmbedOptions("positions", List.of(new FieldMapping("body", "vec")), Task.EMBED, null, null,
                Truncation.MODEL_DEFAULT, TokenOptions.DEFAULT, false, false);
            List<IngestDocumentWrapper> out = run(processor(options, embedder, Runnable::run, Metadata.EMPTY_METADATA, null),
                List.of(body(0, "a cat"), body(1, "cat ".repeat(700)), body(2, "a dog")));
            OpenSearchStatusException e = assertInstanceOf(OpenSearchStatusException.class, out.get(1).getException());
            assertEquals(500, e.status().getStatus());
            assertTrue(e.getMessage().startsWith("[embed] document [d1]: ONNX inference failed: "), e.getMessage());
            assertFalse(out.get(1).getIngestDocument().hasField("vec"));
            assertNull(out.get(0).getException());
            assertNull(out.get(2).getException());
            assertSameVector(alone("a cat"), out.get(0).getIngestDocument().getFieldValue("vec", Object.class));
            assertSameVector(alone("a dog"), out.get(2).getIngestDocument().getFieldValue("vec", Object.class));
        }
    }

    @Test
    void aRejectedBatchReportsTheRejectionOnEachDocument() {
        EmbedProcessor p = processor(options(Map.of("body", "vec")), shared, r -> {
            throw new RejectedExecutionException("queue full");
        }, Metadata.EMPTY_METADATA, null);
        List<IngestDocumentWrapper> out = run(p, List.of(body(0, "a"), body(1, "b")));
        assertEquals("queue full", out.get(0).getException().getMessage());
        assertEquals("queue full", out.get(1).getException().getMessage());
    }

    /** Calls that ran inference (as the node's stats count them: requests that did not fail). */
    private static long inferences(Embedder embedder) {
        return embedder.stats().stream().mapToLong(s -> s.traffic().requests() - s.traffic().failures()).sum();
    }

    private static long texts(Embedder embedder) {
        return embedder.stats().stream().mapToLong(s -> s.traffic().texts()).sum();
    }
}
