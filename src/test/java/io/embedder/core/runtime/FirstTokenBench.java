package io.embedder.core.runtime;

import io.embedder.core.EmbedParams;
import io.embedder.core.Embeddings;
import io.embedder.core.Task;
import io.embedder.core.TestData;
import io.embedder.core.model.ModelSpecReader;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Dense embeddings with and without the first-token graph on one thread with one ONNX thread, as one inference
 * thread of the node runs them. Corpora: the first 400 CISI documents (title and abstract, 168 tokens on average), and
 * their titles (short texts). The texts are tokenized once and cut into the batches the core cuts (length-sorted,
 * the default token budget and batch size); each round runs every batch on both graphs, one right after the other
 * (alternating which goes first), through {@link LoadedModel#run} (padding, the ONNX run into the reused buffers), so
 * both see the same machine load. Per round: documents per CPU-second of the running thread (ONNX Runtime runs on
 * the calling thread with one intra-op thread) and per second; the report gives the medians over rounds and their
 * ratio, then the resident memory each graph adds. Not a test: runs with {@code -Dbench=true}
 * ({@code mvn -o -Pall-models test -Dtest=FirstTokenBench -Dbench=true [-Dbench.rounds=N] [-Dbench.docs=N] [-Dbench.model=M]});
 * writes target/bench-first-token.md.
 */
class FirstTokenBench {

    private static final java.lang.management.ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    @Test
    void denseEmbeddingsWithAndWithoutTheFirstTokenGraph() throws Exception {
        assumeTrue(Boolean.getBoolean("bench"), "a benchmark: run with -Dbench=true");
        String model = System.getProperty("bench.model", "bge-small-en-v1.5");
        TestData.assumeModel(model);
        DjlEnvironment.configure(Path.of("target/djl-cache"));
        int rounds = Integer.getInteger("bench.rounds", 5);
        List<String> documents = cisiDocuments(Integer.getInteger("bench.docs", 400));
        Map<String, List<String>> corpora = new LinkedHashMap<>();
        corpora.put("abstracts", documents);
        corpora.put("short (titles)", documents.stream().map(d -> d.split("\n", 2)[0]).toList());
        LoadedModel.Limits limits = LoadedModel.Limits.defaults();
        List<String> report = new ArrayList<>();
        TestData.onBigStack(() -> {
            long rssBefore = rssBytes();
            try (LoadedModel full = LoadedModel.load(ModelSpecReader.read(model, TestData.modelsDir().resolve(model)), limits.withPruneLastLayer(false))) {
                long rssFull = rssBytes();
                try (LoadedModel pruned = LoadedModel.load(ModelSpecReader.read(model, TestData.modelsDir().resolve(model)), limits)) {
                    long rssPruned = rssBytes();
                    assertTrue(pruned.firstTokenGraph(), "the first-token graph does not apply to " + model);
                    report.add("| corpus | tokens per text | batches | graph | docs per CPU-s (median) | docs/s (median) | per round: docs per CPU-s |");
                    report.add("| --- | --- | --- | --- | --- | --- | --- |");
                    for (Map.Entry<String, List<String>> corpus : corpora.entrySet()) {
                        List<List<TokenizedText>> batches = batches(full, corpus.getValue(), limits);
                        long tokens = batches.stream().flatMap(List::stream).mapToLong(TokenizedText::length).sum();
                        String shape = String.format(Locale.ROOT, "| %s | %.1f | %d |", corpus.getKey(), (double) tokens / corpus.getValue().size(),
                            batches.size());
                        runRound(full, pruned, batches.subList(0, Math.min(8, batches.size())), 0); // warm-up
                        List<double[]> fullRuns = new ArrayList<>();
                        List<double[]> prunedRuns = new ArrayList<>();
                        for (int round = 0; round < rounds; round++) {
                            double[][] r = runRound(full, pruned, batches, round);
                            fullRuns.add(rate(corpus.getValue().size(), r[0]));
                            prunedRuns.add(rate(corpus.getValue().size(), r[1]));
                        }
                        double[] f = medians(fullRuns);
                        double[] p = medians(prunedRuns);
                        report.add(row(shape, "full", f, fullRuns));
                        report.add(row(shape, "first-token", p, prunedRuns));
                        report.add(String.format(Locale.ROOT, "%s **first-token ÷ full** | **%.3f×** | %.3f× | |", shape, p[0] / f[0], p[1] / f[1]));
                    }
                    Embeddings tokenLevel = pruned.embed(new EmbedParams(documents.subList(0, 2), Task.TOKEN_EMBED, null, null, null,
                        Truncation.MODEL_DEFAULT));
                    assertEquals(2, tokenLevel.tokens().size());
                    assertEquals(2, pruned.openGraphs());
                    long rssBoth = rssBytes();
                    report.add("");
                    report.add(String.format(Locale.ROOT, "Resident memory of the JVM: loading the full graph %+.0f MB; loading the first-token graph "
                        + "beside it %+.0f MB; the first token-level request opening "
                        + "the full graph beside the first-token graph %+.0f MB. estimated_native_bytes: %d MB, then %d MB.",
                        (rssFull - rssBefore) / 1e6, (rssPruned - rssFull) / 1e6, (rssBoth - rssPruned) / 1e6,
                        full.estimatedNativeBytes() >> 20, pruned.estimatedNativeBytes() >> 20));
                }
            }
        });
        String header = String.format(Locale.ROOT, "Model %s, %d CISI documents, %d rounds, token budget %d, max batch %d, 1 thread, 1 ONNX thread, "
            + "%d cores, load average %.2f at the end.", model, documents.size(), rounds, limits.tokenBudget(), limits.maxBatchSize(),
            Runtime.getRuntime().availableProcessors(), ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        List<String> out = new ArrayList<>();
        out.add(header);
        out.add("");
        out.addAll(report);
        Files.createDirectories(Path.of("target"));
        Files.write(Path.of("target/bench-first-token.md"), out);
        out.forEach(System.out::println);
    }

    /** The batches the core cuts from {@code texts}: tokenized by {@code model}, length-sorted, within {@code limits}. */
    private static List<List<TokenizedText>> batches(LoadedModel model, List<String> texts, LoadedModel.Limits limits) {
        List<TokenizedText> tokens = texts.stream().map(t -> model.tokenize("", t, model.spec().maxTokens().value(), Truncation.MODEL_DEFAULT))
            .toList();
        int[] lengths = tokens.stream().mapToInt(TokenizedText::length).toArray();
        List<List<TokenizedText>> out = new ArrayList<>();
        for (int[] batch : BatchPlanner.plan(lengths, limits.maxBatchSize(), limits.tokenBudget())) {
            List<TokenizedText> b = new ArrayList<>();
            for (int i : batch) {
                b.add(tokens.get(i));
            }
            out.add(b);
        }
        return out;
    }

    /** Runs every batch on both models, alternating which goes first; {{cpu, wall} of full, {cpu, wall} of pruned} in ns. */
    private static double[][] runRound(LoadedModel full, LoadedModel pruned, List<List<TokenizedText>> batches, int round) {
        double[][] totals = new double[2][2];
        BatchBuffers buffers = new BatchBuffers();
        for (int i = 0; i < batches.size(); i++) {
            boolean fullFirst = (i + round) % 2 == 0;
            for (LoadedModel m : fullFirst ? List.of(full, pruned) : List.of(pruned, full)) {
                long cpu = THREADS.getCurrentThreadCpuTime();
                long wall = System.nanoTime();
                HiddenStates states = m.run(batches.get(i), buffers, LoadedModel.BatchObserver.NONE, Task.EMBED);
                double[] t = totals[m == full ? 0 : 1];
                t[0] += THREADS.getCurrentThreadCpuTime() - cpu;
                t[1] += System.nanoTime() - wall;
                assertEquals(batches.get(i).size(), states.batch());
            }
        }
        return totals;
    }

    /** {docs per CPU-second, docs per second} from {cpu, wall} nanoseconds. */
    private static double[] rate(int docs, double[] nanos) {
        return new double[] {docs / (nanos[0] / 1e9), docs / (nanos[1] / 1e9)};
    }

    private static double[] medians(List<double[]> runs) {
        double[] out = new double[2];
        for (int k = 0; k < 2; k++) {
            int index = k;
            double[] v = runs.stream().mapToDouble(r -> r[index]).sorted().toArray();
            out[k] = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
        }
        return out;
    }

    private static String row(String shape, String graph, double[] medians, List<double[]> runs) {
        StringBuilder perRound = new StringBuilder();
        for (double[] r : runs) {
            perRound.append(perRound.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%.1f", r[0]));
        }
        return String.format(Locale.ROOT, "%s %s | %.1f | %.1f | %s |", shape, graph, medians[0], medians[1], perRound);
    }

    private static long rssBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return -1;
    }

    /** The first {@code n} CISI documents: title, a newline, abstract (as the ingest benchmark indexes them). */
    static List<String> cisiDocuments(int n) throws IOException {
        List<String> out = new ArrayList<>();
        Map<Character, StringBuilder> fields = null;
        char field = 0;
        List<String> lines = new ArrayList<>(Files.readAllLines(TestData.shared("cisi/CISI.ALL")));
        lines.add(".I end");
        for (String line : lines) {
            if (line.startsWith(".I ")) {
                if (fields != null) {
                    out.add((text(fields, 'T') + "\n" + text(fields, 'W')).trim());
                }
                fields = new LinkedHashMap<>();
                field = 0;
            } else if (line.length() == 2 && line.charAt(0) == '.' && Character.isLetter(line.charAt(1))) {
                field = line.charAt(1);
            } else if (fields != null && field != 0) {
                fields.computeIfAbsent(field, k -> new StringBuilder()).append(line).append('\n');
            }
        }
        return out.subList(0, Math.min(n, out.size()));
    }

    private static String text(Map<Character, StringBuilder> fields, char field) {
        StringBuilder b = fields.get(field);
        return b == null ? "" : b.toString().replaceAll("\\s+", " ").trim();
    }
}
