package io.embedder.core;

import io.embedder.core.runtime.LoadedModel;
import io.embedder.core.stats.BatchSizeHistogram;
import io.embedder.core.stats.ModelStats;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The per-model counters, and loading, reloading and unloading a model while it serves, on bge-small. */
class EmbedderStatsTest {

    private static final String BGE = "bge-small-en-v1.5";

    @BeforeEach
    void needsBge() {
        TestData.assumeModel(BGE);
    }

    private static Embedder embedder() {
        return new Embedder(TestData.modelsDir(), new LoadedModel.Limits(8, 4096, 1, Long.MAX_VALUE, 2), Path.of("target/djl-cache"));
    }

    private static ModelStats stats(Embedder e, String model) {
        return e.stats().stream().filter(s -> s.model().equals(model)).findFirst().orElseThrow();
    }

    @Test
    void countsRequestsTextsTokensBatchesAndTheCache() {
        try (Embedder e = embedder()) {
            assertEquals(ModelStats.none(BGE), stats(e, BGE));
            // word pieces with [CLS] and [SEP]: "hello world" 4, "the cat sat" 5, "a" 3; one batch padded to 3 × 5
            e.embed(BGE, EmbedParams.embed(List.of("hello world", "the cat sat", "a"), null));
            e.embed(BGE, EmbedParams.embed(List.of("a"), null));
            ModelStats s = stats(e, BGE);
            assertEquals(new ModelStats.Traffic(2, 0, 4, 15, 18, 2, new BatchSizeHistogram.Snapshot(new long[] {1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0})),
                s.traffic());
            assertEquals(new ModelStats.Cache(1, 1), s.cache());
            assertEquals(new ModelStats.Queue(0, 0, 0), s.queue());
            assertEquals(2, s.latency().request().count());
            assertEquals(2, s.latency().batch().count());
            ModelStats.Residency r = s.residency();
            assertEquals(1, r.loadedCopies());
            assertEquals(1, r.loads());
            assertEquals(0, r.lastWarmupMillis());
            long onnxBytes = Files.size(TestData.modelsDir().resolve(BGE).resolve("model.onnx"));
            assertEquals(onnxBytes, r.onnxFileBytes());
            assertEquals(2 * onnxBytes, r.estimatedNativeBytes());
        } catch (java.io.IOException ex) {
            throw new java.io.UncheckedIOException(ex);
        }
    }

    @Test
    void failuresCountAndUnknownModelsDoNot() {
        try (Embedder e = embedder()) {
            EmbedderException wrongDims = assertThrows(EmbedderException.class, () -> e.embed(BGE,
                new EmbedParams(List.of("x"), Task.EMBED, null, null, 128, io.embedder.core.runtime.Truncation.MODEL_DEFAULT)));
            assertTrue(wrongDims.getMessage().startsWith("[dimensions] [128]: model [bge-small-en-v1.5] is not declared Matryoshka"));
            ModelStats s = stats(e, BGE);
            assertEquals(1, s.traffic().requests());
            assertEquals(1, s.traffic().failures());
            assertEquals(0, s.traffic().texts());
            assertEquals(0, s.queue().inFlight());
            assertThrows(EmbedderException.class, () -> e.embed("nope", EmbedParams.embed(List.of("x"), null)));
            e.submit("nope", Runnable::run, () -> {});
            assertTrue(e.stats().stream().noneMatch(m -> m.model().equals("nope")));
        }
    }

    @Test
    void submitCountsQueuedCallsAndRejections() {
        try (Embedder e = embedder()) {
            List<Runnable> waiting = new ArrayList<>();
            e.submit(BGE, waiting::add, () -> {});
            e.submit(BGE, waiting::add, () -> {});
            assertEquals(new ModelStats.Queue(2, 0, 0), stats(e, BGE).queue());
            waiting.get(0).run();
            assertEquals(new ModelStats.Queue(1, 0, 0), stats(e, BGE).queue());
            RejectedExecutionException full = assertThrows(RejectedExecutionException.class,
                () -> e.submit(BGE, task -> { throw new RejectedExecutionException("queue full"); }, () -> {}));
            assertEquals("queue full", full.getMessage());
            assertEquals(new ModelStats.Queue(1, 0, 1), stats(e, BGE).queue());
        }
    }

    @Test
    void loadWarmsUpReloadReplacesUnloadFrees() {
        try (Embedder e = embedder()) {
            Embedder.LoadResult first = e.load(BGE);
            assertFalse(first.replaced());
            assertEquals(384, first.dimensions());
            assertEquals("cls", first.spec().pooling().value().id());
            float[] before = e.embed(BGE, EmbedParams.embed(List.of("a cat"), null)).vectors().get(0);
            ModelStats loaded = stats(e, BGE);
            // the warm-up is not a request, and the first real call finds the model loaded
            assertEquals(1, loaded.traffic().requests());
            assertEquals(new ModelStats.Cache(1, 0), loaded.cache());

            assertTrue(e.load(BGE).replaced());
            assertArrayEquals(before, e.embed(BGE, EmbedParams.embed(List.of("a cat"), null)).vectors().get(0));
            assertEquals(2, stats(e, BGE).residency().loads());

            assertTrue(e.unload(BGE));
            assertFalse(e.unload(BGE));
            ModelStats unloaded = stats(e, BGE);
            assertEquals(new ModelStats.Residency(0, 2, 1, 0, unloaded.residency().lastLoadMillis(), unloaded.residency().lastWarmupMillis(), 0, 0),
                unloaded.residency());
            assertTrue(e.loadedModel(BGE).isEmpty());
            // the next call loads it again, on first use
            assertArrayEquals(before, e.embed(BGE, EmbedParams.embed(List.of("a cat"), null)).vectors().get(0));
            assertEquals(new ModelStats.Cache(2, 1), stats(e, BGE).cache());
            assertEquals(EmbedderException.Kind.NOT_FOUND, assertThrows(EmbedderException.class, () -> e.unload("nope")).kind());
            assertEquals(EmbedderException.Kind.NOT_FOUND, assertThrows(EmbedderException.class, () -> e.load("nope")).kind());
        }
    }

    /** Calls running while the model is reloaded and unloaded keep their copy until they finish: all succeed, all equal. */
    @Test
    void reloadAndUnloadWhileServing() throws Exception {
        try (Embedder e = embedder()) {
            float[] expected = e.embed(BGE, EmbedParams.embed(List.of("a cat on a mat"), null)).vectors().get(0);
            AtomicBoolean stop = new AtomicBoolean();
            ExecutorService callers = Executors.newFixedThreadPool(2);
            List<Future<Integer>> runs = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                runs.add(callers.submit(() -> {
                    int n = 0;
                    while (!stop.get()) {
                        assertArrayEquals(expected, e.embed(BGE, EmbedParams.embed(List.of("a cat on a mat"), null)).vectors().get(0));
                        n++;
                    }
                    return n;
                }));
            }
            for (int i = 0; i < 3; i++) {
                e.load(BGE);
                e.unload(BGE);
            }
            stop.set(true);
            callers.shutdown();
            assertTrue(callers.awaitTermination(60, TimeUnit.SECONDS));
            int calls = 0;
            for (Future<Integer> run : runs) {
                calls += run.get();
            }
            ModelStats s = stats(e, BGE);
            assertEquals(calls + 1, s.traffic().requests());
            assertEquals(0, s.traffic().failures());
            assertEquals(0, s.queue().inFlight());
        }
    }
}
