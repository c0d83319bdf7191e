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
 * Dense embeddings with and without the first-token graph, through the embedder core ({@link LoadedModel#embed}:
 * tokenize, batches of the default token budget, run, pool, normalize) on one thread with one ONNX thread, as one
 * inference thread of the node runs them. Corpora: the first 400 CISI documents (title and abstract, 168 tokens on
 * average), and their titles (short texts). Rounds interleave the two graphs (ABBA...), each round embeds the whole
 * corpus once; the report gives medians of documents per second and per CPU-second (the process's CPU time, which
 * holds up on a shared machine) and their ratio, and the resident memory the full graph adds when a token-level request
 * opens it. Not a test: runs with {@code -Dbench=true}
 * ({@code mvn -o -Pall-models test -Dtest=FirstTokenBench -Dbench=true [-Dbench.rounds=N] [-Dbench.docs=N] [-Dbench.model=M]});
 * writes target/bench-first-token.md.
 */
class FirstTokenBench {

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
        FirstTokenGraphTest.onBigStack(() -> {
            long rssBefore = rssBytes();
            try (LoadedModel full = LoadedModel.load(ModelSpecReader.read(model, TestData.modelsDir().resolve(model)), limits.withPruneLastLayer(false))) {
                long rssFull = rssBytes();
                try (LoadedModel pruned = LoadedModel.load(ModelSpecReader.read(model, TestData.modelsDir().resolve(model)), limits)) {
                    long rssPruned = rssBytes();
                    assertTrue(pruned.firstTokenGraph(), "the first-token graph does not apply to " + model);
                    for (LoadedModel m : List.of(full, pruned)) {
                        m.embed(params(documents.subList(0, 32), Task.EMBED));
                    }
                    report.add("| corpus | graph | docs/s (median) | docs per CPU-s (median) | per round: docs per CPU-s |");
                    report.add("| --- | --- | --- | --- | --- |");
                    for (Map.Entry<String, List<String>> corpus : corpora.entrySet()) {
                        Map<Boolean, List<double[]>> runs = Map.of(false, new ArrayList<>(), true, new ArrayList<>());
                        for (int round = 0; round < rounds; round++) {
                            for (boolean first : round % 2 == 0 ? new boolean[] {false, true} : new boolean[] {true, false}) {
                                runs.get(first).add(time(first ? pruned : full, corpus.getValue()));
                            }
                        }
                        double[] fullMedians = medians(runs.get(false));
                        double[] prunedMedians = medians(runs.get(true));
                        report.add(row(corpus.getKey(), "full", fullMedians, runs.get(false)));
                        report.add(row(corpus.getKey(), "first-token", prunedMedians, runs.get(true)));
                        report.add(String.format(Locale.ROOT, "| %s | **first-token ÷ full** | %.3f× | **%.3f×** | |", corpus.getKey(),
                            prunedMedians[0] / fullMedians[0], prunedMedians[1] / fullMedians[1]));
                    }
                    Embeddings tokens = pruned.embed(params(documents.subList(0, 2), Task.TOKEN_EMBED));
                    assertEquals(2, tokens.tokens().size());
                    assertEquals(2, pruned.openGraphs());
                    long rssBoth = rssBytes();
                    report.add("");
                    report.add(String.format(Locale.ROOT, "Resident memory: full graph loaded %+.0f MB; first-token graph loaded beside it %+.0f MB; "
                        + "the first token-level request opens the full graph beside the first-token one: %+.0f MB "
                        + "(estimated_native_bytes %d MB → %d MB).", (rssFull - rssBefore) / 1e6, (rssPruned - rssFull) / 1e6,
                        (rssBoth - rssPruned) / 1e6, full.estimatedNativeBytes() >> 20, pruned.estimatedNativeBytes() >> 20));
                }
            }
        });
        String header = String.format(Locale.ROOT, "Model %s, %d CISI documents, %d rounds, token budget %d, max batch %d, 1 thread, 1 ONNX thread, "
            + "%d cores.", model, documents.size(), rounds, limits.tokenBudget(), limits.maxBatchSize(), Runtime.getRuntime().availableProcessors());
        List<String> out = new ArrayList<>();
        out.add(header);
        out.add("");
        out.addAll(report);
        Files.createDirectories(Path.of("target"));
        Files.write(Path.of("target/bench-first-token.md"), out);
        out.forEach(System.out::println);
    }

    private static EmbedParams params(List<String> texts, Task task) {
        return new EmbedParams(texts, task, null, null, null, Truncation.MODEL_DEFAULT);
    }

    /** Embeds {@code texts} once; {docs per second, docs per CPU-second}. */
    private static double[] time(LoadedModel model, List<String> texts) {
        double cpu = processCpuSeconds();
        long start = System.nanoTime();
        Embeddings e = model.embed(params(texts, Task.EMBED));
        double seconds = (System.nanoTime() - start) / 1e9;
        cpu = processCpuSeconds() - cpu;
        assertEquals(texts.size(), e.vectors().size());
        return new double[] {texts.size() / seconds, texts.size() / cpu};
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

    private static String row(String corpus, String graph, double[] medians, List<double[]> runs) {
        StringBuilder perRound = new StringBuilder();
        for (double[] r : runs) {
            perRound.append(perRound.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%.1f", r[1]));
        }
        return String.format(Locale.ROOT, "| %s | %s | %.1f | %.1f | %s |", corpus, graph, medians[0], medians[1], perRound);
    }

    private static double processCpuSeconds() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
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
