package io.embedder.core.runtime;

import io.embedder.core.EmbedParams;
import io.embedder.core.EmbedderException;
import io.embedder.core.Embeddings;
import io.embedder.core.Role;
import io.embedder.core.Task;
import io.embedder.core.TestData;
import io.embedder.core.model.ModelSpec;
import io.embedder.core.model.Sourced;
import io.embedder.core.pooling.Pooling;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The scheduler with bge-small's real tokenizer and a fake encoder (token state[d] = token id × (d + 1), mean
 * pooling, so each text's vector is its mean token id times (1, 2, 3, 4)) that records each batch as its rows' first
 * word-piece ids, and can hold a batch until the test lets it go: which texts share a batch, in which order the lanes
 * are served, what a failure or a close does. Deterministic: one thread, held while the next requests queue; only
 * the bounded wait of a lone document batch is timed.
 */
class InferenceSchedulerTest {

    private static final int DIM = 4;
    private static TextTokenizer tokenizer;

    @BeforeAll
    static void load() {
        TestData.assumeModel("bge-small-en-v1.5");
        DjlEnvironment.configure(Path.of("target/djl-cache"));
        tokenizer = TextTokenizer.load("bge", TestData.modelsDir().resolve("bge-small-en-v1.5/tokenizer.json"));
    }

    @AfterAll
    static void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
    }

    /** Records batches (first word piece of each row) and blocks each batch until released, if asked. */
    private static final class Recorder implements LoadedModel.Encoder {
        final List<List<Long>> batches = Collections.synchronizedList(new ArrayList<>());
        final Semaphore permits = new Semaphore(Integer.MAX_VALUE);
        final CountDownLatch firstStarted = new CountDownLatch(1);
        volatile RuntimeException failure;

        @Override
        public HiddenStates run(BatchBuffers buffers, int batch, int seq, int dim) {
            List<Long> firsts = new ArrayList<>();
            for (int row = 0; row < batch; row++) {
                firsts.add(buffers.ids().get(row * seq + 1));
            }
            firstStarted.countDown();
            permits.acquireUninterruptibly();
            batches.add(firsts);
            if (failure != null) {
                throw failure;
            }
            for (int i = 0; i < batch * seq; i++) {
                for (int d = 0; d < dim; d++) {
                    buffers.output().put(i * dim + d, buffers.mask().get(i) == 0 ? 1e6f : buffers.ids().get(i) * (d + 1));
                }
            }
            return new HiddenStates(buffers.output(), buffers.mask(), batch, seq, dim, false);
        }

        @Override
        public void close() {}
    }

    private static LoadedModel model(Recorder encoder, int maxBatch, int budget) {
        ModelSpec spec = new ModelSpec("fake", Path.of("model.onnx"), Path.of("tokenizer.json"), "last_hidden_state",
            Sourced.of(Pooling.MEAN, "test"), Sourced.of(false, "test"), Sourced.of(512, "test"), null, -1, Sourced.of(DIM, "test"),
            Sourced.of(Map.of(), "test"), null, Sourced.of(List.of(), "test"), Sourced.of("right", "test"));
        return new LoadedModel(spec, tokenizer, encoder, DIM, limits(maxBatch, budget, 0));
    }

    private static LoadedModel.Limits limits(int maxBatch, int budget, long maxWaitMicros) {
        return new LoadedModel.Limits(maxBatch, budget, 1, Long.MAX_VALUE, 1, 0, maxWaitMicros);
    }

    private static long firstPiece(String word) {
        return tokenizer.encode(word, 512, Truncation.MODEL_DEFAULT).ids()[1];
    }

    private static EmbedParams params(Role role, String... texts) {
        return new EmbedParams(List.of(texts), Task.EMBED, role, false, null, Truncation.MODEL_DEFAULT);
    }

    /** Holds the only thread in a first batch, so what follows waits in the lanes until released. */
    private static CompletableFuture<Embeddings> occupy(InferenceScheduler s, LoadedModel m, Recorder r) throws InterruptedException {
        r.permits.drainPermits();
        CompletableFuture<Embeddings> first = s.embed(m, params(Role.DOCUMENT, "zero"));
        assertTrue(r.firstStarted.await(10, TimeUnit.SECONDS));
        return first;
    }

    @Test
    void concurrentRequestsShareBatchesAndGetTheirOwnResults() throws Exception {
        Recorder r = new Recorder();
        LoadedModel m = model(r, 32, 4096);
        try (InferenceScheduler s = new InferenceScheduler(1, 0, limits(32, 4096, 0), 1 << 20)) {
            CompletableFuture<Embeddings> first = occupy(s, m, r);
            List<CompletableFuture<Embeddings>> waiting = new ArrayList<>();
            for (String w : List.of("apple", "banana", "cherry", "date")) {
                waiting.add(s.embed(m, params(Role.DOCUMENT, w)));
            }
            // the only thread is held in the first batch: the four requests queue (tokenizing waits for it too)
            r.permits.release(Integer.MAX_VALUE / 2);
            first.get(10, TimeUnit.SECONDS);
            for (CompletableFuture<Embeddings> f : waiting) {
                f.get(10, TimeUnit.SECONDS);
            }
            // the four single-text requests ran as one ONNX batch, in the order they arrived (all the same length)
            assertEquals(List.of(List.of(firstPiece("zero")),
                List.of(firstPiece("apple"), firstPiece("banana"), firstPiece("cherry"), firstPiece("date"))), r.batches);
            // each got its own text's vector: its mean token id × (1, 2, 3, 4)
            for (int i = 0; i < 4; i++) {
                String w = List.of("apple", "banana", "cherry", "date").get(i);
                float unit = (float) java.util.Arrays.stream(tokenizer.encode(w, 512, Truncation.MODEL_DEFAULT).ids()).average().orElseThrow();
                assertArrayEquals(new float[] {unit, 2 * unit, 3 * unit, 4 * unit}, waiting.get(i).get().vectors().get(0), 1e-3f);
            }
        }
    }

    @Test
    void queryTextsRunBeforeWaitingDocumentTexts() throws Exception {
        Recorder r = new Recorder();
        LoadedModel m = model(r, 1, 4096);
        try (InferenceScheduler s = new InferenceScheduler(1, 0, limits(1, 4096, 0), 1 << 20)) {
            CompletableFuture<Embeddings> first = occupy(s, m, r);
            CompletableFuture<Embeddings> docs = s.embed(m, params(Role.DOCUMENT, "apple", "banana"));
            CompletableFuture<Embeddings> query = s.embed(m, params(Role.QUERY, "cherry"));
            r.permits.release(Integer.MAX_VALUE / 2);
            CompletableFuture.allOf(first, docs, query).get(10, TimeUnit.SECONDS);
            // the query arrived last, after the documents were queued, and ran first
            assertEquals(List.of(List.of(firstPiece("zero")), List.of(firstPiece("cherry")), List.of(firstPiece("apple")),
                List.of(firstPiece("banana"))), r.batches);
        }
    }

    @Test
    void aQueryThreadServesSearchesWhileEveryOtherThreadIsBusy() throws Exception {
        Recorder blocking = new Recorder();
        Recorder free = new Recorder();
        LoadedModel busy = model(blocking, 32, 4096);
        LoadedModel other = model(free, 32, 4096);
        try (InferenceScheduler s = new InferenceScheduler(1, 1, limits(32, 4096, 0), 1 << 20)) {
            CompletableFuture<Embeddings> held = occupy(s, busy, blocking);
            Embeddings query = s.embed(other, params(Role.QUERY, "cherry")).get(10, TimeUnit.SECONDS);
            assertEquals(1, query.vectors().size());
            assertFalse(held.isDone());
            blocking.permits.release(Integer.MAX_VALUE / 2);
            held.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void noDocumentBatchStartsWhileQueryWorkTakesTheCores() throws Exception {
        Recorder queries = new Recorder();
        Recorder documents = new Recorder();
        LoadedModel queryModel = model(queries, 32, 4096);
        LoadedModel documentModel = model(documents, 32, 4096);
        try (InferenceScheduler s = new InferenceScheduler(1, 1, limits(32, 4096, 0), 1 << 20)) {
            queries.permits.drainPermits();
            CompletableFuture<Embeddings> query = s.embed(queryModel, params(Role.QUERY, "cherry"));
            assertTrue(queries.firstStarted.await(10, TimeUnit.SECONDS));
            // one thread takes any work and one query work only: the query runs on either, and a second thread
            // starting a document batch now would run two batches on one core's worth of threads
            CompletableFuture<Embeddings> document = s.embed(documentModel, params(Role.DOCUMENT, "apple"));
            Thread.sleep(300);
            assertEquals(List.of(), documents.batches);
            assertFalse(document.isDone());
            queries.permits.release(Integer.MAX_VALUE / 2);
            query.get(10, TimeUnit.SECONDS);
            document.get(10, TimeUnit.SECONDS);
            assertEquals(List.of(List.of(firstPiece("apple"))), documents.batches);
        }
    }

    @Test
    void aRepeatedTextIsEmbeddedOnceAndEachPositionGetsItsOwnArray() throws Exception {
        Recorder r = new Recorder();
        LoadedModel m = model(r, 32, 4096);
        try (InferenceScheduler s = new InferenceScheduler(1, 0, limits(32, 4096, 0), 1 << 20)) {
            Embeddings e = s.embed(m, params(Role.DOCUMENT, "apple", "banana", "apple")).get(10, TimeUnit.SECONDS);
            assertEquals(List.of(List.of(firstPiece("apple"), firstPiece("banana"))), r.batches);
            assertEquals(3, e.vectors().size());
            assertArrayEquals(e.vectors().get(0), e.vectors().get(2));
            assertNotSame(e.vectors().get(0), e.vectors().get(2));
        }
    }

    @Test
    void aFailingBatchFailsItsRequestsOnlyAndBadTextsAreNamed() throws Exception {
        Recorder r = new Recorder();
        LoadedModel m = model(r, 1, 4096);
        try (InferenceScheduler s = new InferenceScheduler(1, 0, limits(1, 4096, 0), 1 << 20)) {
            r.failure = new EmbedderException(EmbedderException.Kind.INFERENCE_FAILED, "ONNX inference failed: boom");
            ExecutionException failed = assertThrows(ExecutionException.class, () -> s.embed(m, params(Role.DOCUMENT, "apple")).get(10, TimeUnit.SECONDS));
            assertEquals("ONNX inference failed: boom", failed.getCause().getMessage());
            r.failure = null;
            assertEquals(1, s.embed(m, params(Role.DOCUMENT, "apple")).get(10, TimeUnit.SECONDS).vectors().size());
            EmbedParams tooLong = new EmbedParams(List.of("ok", "word ".repeat(600)), Task.EMBED, Role.DOCUMENT, false, null, Truncation.NONE);
            ExecutionException bad = assertThrows(ExecutionException.class, () -> s.embed(m, tooLong).get(10, TimeUnit.SECONDS));
            assertEquals("[texts][1]: text has 602 tokens, more than the model's max_tokens [512], and truncate_prompt_tokens is [none]",
                bad.getCause().getMessage());
            assertEquals(EmbedderException.Kind.BAD_REQUEST, ((EmbedderException) bad.getCause()).kind());
        }
    }

    /** A batch shared by requests is told once to their observer: its size, real tokens, padded tokens. */
    @Test
    void theObserverSeesEachSharedBatchOnce() throws Exception {
        Recorder r = new Recorder();
        LoadedModel m = model(r, 32, 4096);
        List<List<Integer>> seen = Collections.synchronizedList(new ArrayList<>());
        LoadedModel.BatchObserver observer = (size, realTokens, allTokens, nanos) -> seen.add(List.of(size, realTokens, allTokens));
        try (InferenceScheduler s = new InferenceScheduler(1, 0, limits(32, 4096, 0), 1 << 20)) {
            CompletableFuture<Embeddings> first = occupy(s, m, r);
            // [CLS] apple [SEP] and [CLS] banana [SEP]: 3 tokens each; [CLS] cherry pie [SEP]: 4
            CompletableFuture<Embeddings> one = s.embed(m, params(Role.DOCUMENT, "apple", "banana"), observer);
            CompletableFuture<Embeddings> two = s.embed(m, params(Role.DOCUMENT, "cherry pie"), observer);
            r.permits.release(Integer.MAX_VALUE / 2);
            CompletableFuture.allOf(first, one, two).get(10, TimeUnit.SECONDS);
            assertEquals(List.of(List.of(3, 10, 12)), seen);
        }
    }

    /**
     * A request whose texts run on two threads and fail on one completes (failed) only once the other's batch is over:
     * the embedder releases the model copy then, so it is never closed under a running batch.
     */
    @Test
    void aFailedRequestCompletesOnceNoneOfItsTextsRuns() throws Exception {
        long apple = firstPiece("apple");
        CountDownLatch appleRunning = new CountDownLatch(1);
        CountDownLatch appleMayEnd = new CountDownLatch(1);
        CountDownLatch bananaFailing = new CountDownLatch(1);
        LoadedModel.Encoder encoder = new LoadedModel.Encoder() {
            @Override
            public HiddenStates run(BatchBuffers buffers, int batch, int seq, int dim) {
                if (buffers.ids().get(1) != apple) {
                    bananaFailing.countDown();
                    throw new EmbedderException(EmbedderException.Kind.INFERENCE_FAILED, "ONNX inference failed: boom");
                }
                appleRunning.countDown();
                try {
                    appleMayEnd.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                return new HiddenStates(buffers.output(), buffers.mask(), batch, seq, dim, false);
            }

            @Override
            public void close() {}
        };
        LoadedModel m = new LoadedModel(model(new Recorder(), 1, 4096).spec(), tokenizer, encoder, DIM, limits(1, 4096, 0));
        try (InferenceScheduler s = new InferenceScheduler(2, 0, limits(1, 4096, 0), 1 << 20)) {
            CompletableFuture<Embeddings> request = s.embed(m, params(Role.DOCUMENT, "apple", "banana"));
            try {
                assertTrue(appleRunning.await(10, TimeUnit.SECONDS));
                assertTrue(bananaFailing.await(10, TimeUnit.SECONDS));
                Thread.sleep(200); // the other thread fails banana's text meanwhile
                assertFalse(request.isDone());
            } finally {
                appleMayEnd.countDown();
            }
            ExecutionException failed = assertThrows(ExecutionException.class, () -> request.get(10, TimeUnit.SECONDS));
            assertEquals("ONNX inference failed: boom", failed.getCause().getMessage());
        }
    }

    @Test
    void aLoneDocumentBatchWaitsBoundedlyForCompany() throws Exception {
        Recorder r = new Recorder();
        LoadedModel m = model(r, 32, 4096);
        try (InferenceScheduler s = new InferenceScheduler(1, 0, limits(32, 4096, 50_000), 1 << 20)) {
            long start = System.nanoTime();
            s.embed(m, params(Role.DOCUMENT, "apple")).get(10, TimeUnit.SECONDS);
            double ms = (System.nanoTime() - start) / 1e6;
            assertTrue(ms >= 45, "waited " + ms + " ms for more texts before running alone");
            start = System.nanoTime();
            s.embed(m, params(Role.QUERY, "apple")).get(10, TimeUnit.SECONDS);
            assertTrue((System.nanoTime() - start) / 1e6 < 45, "a query never waits for company");
        }
    }

    @Test
    void closingFailsWhatWaits() throws Exception {
        Recorder r = new Recorder();
        LoadedModel m = model(r, 1, 4096);
        InferenceScheduler s = new InferenceScheduler(1, 0, limits(1, 4096, 0), 1 << 20);
        CompletableFuture<Embeddings> first = occupy(s, m, r);
        CompletableFuture<Embeddings> queued = s.embed(m, params(Role.DOCUMENT, "apple"));
        Thread closer = new Thread(s::close);
        closer.start();
        ExecutionException e = assertThrows(ExecutionException.class, () -> queued.get(10, TimeUnit.SECONDS));
        assertEquals("the embedder is closed", e.getCause().getMessage());
        r.permits.release(Integer.MAX_VALUE / 2);
        first.get(10, TimeUnit.SECONDS);
        closer.join();
        ExecutionException after = assertThrows(ExecutionException.class, () -> s.embed(m, params(Role.QUERY, "x")).get(10, TimeUnit.SECONDS));
        assertEquals("the embedder is closed", after.getCause().getMessage());
    }
}
