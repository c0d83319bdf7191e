package io.embedder.core;

import io.embedder.core.runtime.LoadedModel;
import io.embedder.core.runtime.Truncation;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What a request per text costs the scheduler against a request per 32 texts: CISI titles embedded by 2 client
 * threads taking chunks of 32, each chunk as one call of 32 texts (as the embedder core is called directly in
 * {@code IngestBench}) or as 32 calls of one text submitted at once and then awaited (as the {@code embed} processor
 * with {@code batch_size} 1 submits a bulk's documents), rounds alternating which goes first; documents per second and
 * per CPU-second of this JVM. Not a test: {@code mvn -Pall-models test -Dtest=RequestSizeBench -Dbench=true
 * [-Dbench.rounds=5] [-Dbench.passes=2] [-Dbench.max_wait_us=2000]}; writes target/bench-request-size.md.
 */
class RequestSizeBench {

    private static final String MODEL = "bge-small-en-v1.5";

    @Test
    void requestPerTextAgainstRequestPerChunk() throws Exception {
        assumeTrue(Boolean.getBoolean("bench"), "a benchmark: run with -Dbench=true");
        TestData.assumeModel(MODEL);
        int rounds = Integer.getInteger("bench.rounds", 5);
        List<String> titles = new ArrayList<>();
        for (int p = 0; p < Integer.getInteger("bench.passes", 2); p++) {
            titles.addAll(UnpadCoreBench.texts(".T"));
        }
        LoadedModel.Limits d = LoadedModel.Limits.defaults();
        LoadedModel.Limits limits = new LoadedModel.Limits(d.maxBatchSize(), d.tokenBudget(), d.intraOpThreads(), d.maxModelBytes(),
            d.inferenceThreads(), d.queryThreads(), Long.getLong("bench.max_wait_us", d.maxWaitMicros()), d.pruneLastLayer(), d.unpad(), d.fusions());
        String perText = "a call per text";
        String perChunk = "a call per 32 texts";
        // per way of calling, per round: {docs/s, docs per CPU-s, texts per batch}
        Map<String, List<double[]>> rates = new TreeMap<>();
        try (Embedder embedder = new Embedder(TestData.modelsDir(), limits, Path.of("target/djl-cache"))) {
            for (int round = -1; round < rounds; round++) {
                for (boolean single : round % 2 == 0 ? List.of(true, false) : List.of(false, true)) {
                    double cpu = UnpadCoreBench.cpuSeconds();
                    long batches = UnpadCoreBench.batches(embedder)[0];
                    double seconds = run(embedder, titles, single);
                    cpu = UnpadCoreBench.cpuSeconds() - cpu;
                    batches = UnpadCoreBench.batches(embedder)[0] - batches;
                    if (round >= 0) {
                        rates.computeIfAbsent(single ? perText : perChunk, k -> new ArrayList<>())
                            .add(new double[] {titles.size() / seconds, titles.size() / cpu, (double) titles.size() / batches});
                    }
                }
            }
        }
        StringBuilder report = new StringBuilder(String.format("| %d CISI titles, 2 clients × 32 (%d rounds) | docs/s (rounds; median) "
            + "| docs per CPU-s (rounds; median) | texts per batch (median) |%n| --- | --- | --- | --- |%n", titles.size(), rounds));
        for (Map.Entry<String, List<double[]>> e : rates.entrySet()) {
            List<double[]> r = e.getValue();
            report.append(String.format("| %s | %s; **%.1f** | %s; **%.1f** | %.1f |%n", e.getKey(), UnpadCoreBench.cells(r, 0),
                UnpadCoreBench.median(r, 0), UnpadCoreBench.cells(r, 1), UnpadCoreBench.median(r, 1), UnpadCoreBench.median(r, 2)));
        }
        report.append(String.format("| per text ÷ per 32 | %.3f× | %.3f× | |%n",
            UnpadCoreBench.median(rates.get(perText), 0) / UnpadCoreBench.median(rates.get(perChunk), 0),
            UnpadCoreBench.median(rates.get(perText), 1) / UnpadCoreBench.median(rates.get(perChunk), 1)));
        System.out.println(report);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/bench-request-size.md"), report.toString());
    }

    private static double run(Embedder embedder, List<String> texts, boolean single) throws InterruptedException {
        AtomicInteger next = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < 2; c++) {
            threads.add(new Thread(() -> {
                int from;
                while ((from = next.getAndAdd(32)) < texts.size()) {
                    List<String> chunk = texts.subList(from, Math.min(texts.size(), from + 32));
                    if (single) {
                        List<CompletableFuture<Embeddings>> calls = new ArrayList<>();
                        for (String text : chunk) {
                            calls.add(embedder.embedAsync(MODEL, params(List.of(text))));
                        }
                        calls.forEach(CompletableFuture::join);
                    } else {
                        embedder.embed(MODEL, params(chunk));
                    }
                }
            }));
        }
        long start = System.nanoTime();
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join();
        }
        return (System.nanoTime() - start) / 1e9;
    }

    private static EmbedParams params(List<String> texts) {
        return new EmbedParams(texts, Task.EMBED, Role.DOCUMENT, null, null, Truncation.MODEL_DEFAULT);
    }
}
