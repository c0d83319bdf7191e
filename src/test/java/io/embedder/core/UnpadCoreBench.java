package io.embedder.core;

import io.embedder.core.runtime.LoadedModel;
import io.embedder.core.runtime.Truncation;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The unpadding rewrite through the embedder core as the node runs it: CISI titles (abstracts with {@code
 * -Dbench.abstracts=true}) embedded by {@code
 * -Dbench.clients} threads (2) in calls of 32, through an embedder with {@code embedder.inference.unpad} on and one
 * with it off (each with the node's default limits: as many inference threads as cores), rounds alternating which
 * goes first; documents per second and per CPU-second of this JVM. Not a test: {@code mvn -Pall-models test
 * -Dtest=UnpadCoreBench -Dbench=true [-Dbench.rounds=5] [-Dbench.passes=2] [-Dbench.abstracts=true]}, and limits other than
 * the defaults with {@code -Dbench.intra} (ONNX Runtime threads per batch), {@code -Dbench.inference} (batches at once),
 * {@code -Dbench.budget} (token budget); writes target/bench-unpad-core.md.
 */
class UnpadCoreBench {

    private static final String MODEL = "bge-small-en-v1.5";

    @Test
    void unpaddedAgainstPadded() throws Exception {
        assumeTrue(Boolean.getBoolean("bench"), "a benchmark: run with -Dbench=true");
        TestData.assumeModel(MODEL);
        int rounds = Integer.getInteger("bench.rounds", 5);
        int clients = Integer.getInteger("bench.clients", 2);
        List<String> titles = new ArrayList<>();
        for (int p = 0; p < Integer.getInteger("bench.passes", 2); p++) {
            titles.addAll(texts(Boolean.getBoolean("bench.abstracts") ? ".W" : ".T"));
        }
        LoadedModel.Limits d = LoadedModel.Limits.defaults();
        int intra = Integer.getInteger("bench.intra", d.intraOpThreads());
        LoadedModel.Limits defaults = new LoadedModel.Limits(d.maxBatchSize(), Integer.getInteger("bench.budget", d.tokenBudget()), intra,
            d.maxModelBytes(), Integer.getInteger("bench.inference", LoadedModel.Limits.defaultInferenceThreads(Runtime.getRuntime().availableProcessors(), intra)),
            d.queryThreads(), d.maxWaitMicros(), d.pruneLastLayer(), d.unpad(), d.fusions());
        Map<String, List<double[]>> rates = new TreeMap<>();
        Map<String, long[]> shapes = new TreeMap<>();
        try (Embedder on = new Embedder(TestData.modelsDir(), defaults.withUnpad(true), Path.of("target/djl-cache"));
             Embedder off = new Embedder(TestData.modelsDir(), defaults.withUnpad(false), Path.of("target/djl-cache"))) {
            for (int round = -1; round < rounds; round++) {
                for (boolean unpad : round % 2 == 0 ? List.of(true, false) : List.of(false, true)) {
                    double cpu = cpuSeconds();
                    long[] before = batches(unpad ? on : off);
                    double seconds = run(unpad ? on : off, titles, clients);
                    cpu = cpuSeconds() - cpu;
                    if (round >= 0) {
                        long[] after = batches(unpad ? on : off);
                        long[] sum = shapes.computeIfAbsent(unpad ? "unpadded" : "padded", k -> new long[4]);
                        for (int i = 0; i < sum.length; i++) {
                            sum[i] += after[i] - before[i];
                        }
                        rates.computeIfAbsent(unpad ? "unpadded" : "padded", k -> new ArrayList<>())
                            .add(new double[] {titles.size() / seconds, titles.size() / cpu});
                    }
                }
            }
        }
        StringBuilder report = new StringBuilder(String.format("| %d CISI " + (Boolean.getBoolean("bench.abstracts") ? "abstracts" : "titles") + ", %d clients × 32, %d inference threads (%d rounds) "
            + "| docs/s (rounds; median) | docs per CPU-s (rounds; median) | texts per batch | padded ÷ real tokens |%n| --- | --- | --- | --- | --- |%n", titles.size(), clients,
            defaults.inferenceThreads(), rounds));
        for (String graph : List.of("padded", "unpadded")) {
            List<double[]> r = rates.get(graph);
            long[] b = shapes.get(graph);
            report.append(String.format("| %s graph | %s; **%.1f** | %s; **%.1f** | %.1f | %.3f |%n", graph, cells(r, 0), median(r, 0), cells(r, 1),
                median(r, 1), (double) b[1] / b[0], (double) b[3] / b[2]));
        }
        report.append(String.format("| unpadded ÷ padded | %.3f× | %.3f× | | |%n", median(rates.get("unpadded"), 0) / median(rates.get("padded"), 0),
            median(rates.get("unpadded"), 1) / median(rates.get("padded"), 1)));
        System.out.println(report);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/bench-unpad-core.md"), report.toString());
    }

    private static double run(Embedder embedder, List<String> texts, int clients) throws InterruptedException {
        AtomicInteger next = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            threads.add(new Thread(() -> {
                int from;
                while ((from = next.getAndAdd(32)) < texts.size()) {
                    embedder.embed(MODEL, new EmbedParams(texts.subList(from, Math.min(texts.size(), from + 32)), Task.EMBED, Role.DOCUMENT,
                        null, null, Truncation.MODEL_DEFAULT));
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

    /** {batches, texts, tokens, padded tokens} the embedder ran so far. */
    static long[] batches(Embedder embedder) {
        long[] sum = new long[4];
        for (io.embedder.core.stats.ModelStats s : embedder.stats()) {
            io.embedder.core.stats.ModelStats.Traffic t = s.traffic();
            long[] one = {t.batches(), t.texts(), t.tokens(), t.paddedTokens()};
            for (int i = 0; i < sum.length; i++) {
                sum[i] += one[i];
            }
        }
        return sum;
    }

    static double cpuSeconds() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
    }

    /** The CISI documents' field {@code field} ({@code .T} titles, {@code .W} abstracts). */
    static List<String> texts(String field) throws java.io.IOException {
        List<String> out = new ArrayList<>();
        StringBuilder title = null;
        for (String line : Files.readAllLines(TestData.shared("cisi/CISI.ALL"))) {
            if (line.startsWith(".")) {
                if (title != null) {
                    out.add(title.toString().trim());
                    title = null;
                }
                if (line.startsWith(field)) {
                    title = new StringBuilder();
                }
            } else if (title != null) {
                title.append(line).append(' ');
            }
        }
        return out;
    }

    static String cells(List<double[]> rows, int k) {
        return String.join(", ", rows.stream().map(r -> String.format("%.1f", r[k])).toList());
    }

    static double median(List<double[]> rows, int k) {
        double[] v = rows.stream().mapToDouble(r -> r[k]).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
