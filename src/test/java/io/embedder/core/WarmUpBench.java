package io.embedder.core;

import io.embedder.core.model.ModelSpecReader;
import io.embedder.core.runtime.DjlEnvironment;
import io.embedder.core.runtime.LoadedModel;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What the warm-up on load buys: the latency of the first request after a load, with and without the warm-up, against
 * the same request once the model is warm. Not a test: runs with {@code -Dbench=true}
 * ({@code mvn -Pall-models test -Dtest=WarmUpBench -Dbench=true [-Dbench.cycles=N] [-Dbench.long=true]}); writes
 * target/bench-warmup.md.
 * Loads run on a 16 MB-stack thread, as in the embedder.
 */
class WarmUpBench {

    private static final String MODEL = "bge-small-en-v1.5";
    /** A typical request: 8 texts of a sentence or two; with {@code -Dbench.long=true}, a bulk's 32 abstracts of ~300 tokens. */
    private static final List<String> REQUEST = Boolean.getBoolean("bench.long")
        ? Collections.nCopies(32, "Library classification schemes organise documents by subject so that readers can browse related works together. ".repeat(14))
        : Collections.nCopies(8, "Library classification schemes organise documents by subject so that readers can browse related works together.");

    @Test
    void firstRequestAfterLoad() throws Exception {
        assumeTrue(Boolean.getBoolean("bench"), "a benchmark: run with -Dbench=true");
        TestData.assumeModel(MODEL);
        DjlEnvironment.configure(Path.of("target/djl-cache"));
        int cycles = Integer.getInteger("bench.cycles", 7);
        LoadedModel.Limits limits = new LoadedModel.Limits(32, 8192, 1, Long.MAX_VALUE, 1);
        List<Double> cold = new ArrayList<>();
        List<Double> warmedUp = new ArrayList<>();
        List<Double> steady = new ArrayList<>();
        List<Double> warmUp = new ArrayList<>();
        for (int cycle = 0; cycle < cycles; cycle++) {
            for (boolean withWarmUp : new boolean[] {cycle % 2 == 0, cycle % 2 != 0}) {
                TestData.onBigStack(() -> {
                    LoadedModel m = LoadedModel.load(ModelSpecReader.read(MODEL, TestData.modelsDir().resolve(MODEL)), limits);
                    try {
                        if (withWarmUp) {
                            long t = System.nanoTime();
                            m.warmUp();
                            warmUp.add((System.nanoTime() - t) / 1e6);
                        }
                        double first = timeMillis(m);
                        (withWarmUp ? warmedUp : cold).add(first);
                        if (withWarmUp) {
                            for (int i = 0; i < 5; i++) {
                                steady.add(timeMillis(m));
                            }
                        }
                    } finally {
                        m.close();
                    }
                });
            }
        }
        String report = String.format("""
            | first request of %d texts after a load (%d loads each) | median ms |
            | --- | --- |
            | without warm-up | %.1f |
            | after the warm-up | %.1f |
            | the same request once warm (5 per load) | %.1f |
            | the warm-up itself | %.1f |
            """, REQUEST.size(), cycles, median(cold), median(warmedUp), median(steady), median(warmUp));
        System.out.println(report);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/bench-warmup.md"), report);
    }

    private static double timeMillis(LoadedModel m) {
        long t = System.nanoTime();
        m.embed(EmbedParams.embed(REQUEST, Role.DOCUMENT));
        return (System.nanoTime() - t) / 1e6;
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }
}
