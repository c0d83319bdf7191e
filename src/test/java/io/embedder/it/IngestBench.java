package io.embedder.it;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.embedder.core.EmbedParams;
import io.embedder.core.Embedder;
import io.embedder.core.Role;
import io.embedder.core.Task;
import io.embedder.core.TestData;
import io.embedder.core.pooling.VectorOps;
import io.embedder.core.runtime.LoadedModel;
import io.embedder.core.runtime.TextTokenizer;
import io.embedder.core.runtime.Truncation;
import io.embedder.core.stats.ModelStats;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Ingest throughput on one real node, in one run: CISI through our {@code embed} pipeline, the same texts through
 * the embedder core called directly in this JVM, and through OpenSearch's own path (ml-commons hosting the same ONNX
 * graph, neural-search's {@code text_embedding} processor); {@code text_knn} latency idle and while our bulk ingest
 * saturates the CPU; the core's achieved GFLOP/s on 128-token sequences; resident memory per loaded model; the int8
 * variant's quality cost. Prints the tables and writes target/bench-ingest.md. Not a test: run by
 * {@code scripts/bench.sh ingest}, which starts the node with every plugin this needs.
 *
 * <p>Properties: bench.rounds (3), bench.warmup (untimed rounds of every phase first, 1), bench.docs (0 = all 1,460),
 * bench.short_passes (the short corpus is the titles this many times over, 4), bench.bulk (documents per bulk, 32),
 * bench.clients (bulk threads, 2), bench.batch_size (both processors' batch_size, 1), bench.search.pause_ms (100),
 * bench.model.port (loopback port serving the model zip to ml-commons, 9252), bench.node.pid.
 */
class IngestBench {

    private static final String MODEL = "bge-small-en-v1.5";
    private static final String QUANTIZED = "bge-small-en-v1.5-q";
    private static final String ML_MODEL = "bench-" + MODEL;
    private static final String SEARCH_INDEX = "perf-search";
    /** bge-small-en-v1.5's architecture (its config.json): BERT, 12 layers, hidden 384, feed-forward 1536. */
    private static final int LAYERS = 12, HIDDEN = 384, FFN = 1536;

    private final int rounds = Integer.getInteger("bench.rounds", 3);
    /** Untimed rounds of every phase first, so that the timed rounds find the node's and this JVM's code compiled. */
    private final int warmupRounds = Integer.getInteger("bench.warmup", 1);
    /** Passes over the titles that make the short corpus: one pass takes about 5 s, where a hiccup of the machine shows. */
    private final int shortPasses = Integer.getInteger("bench.short_passes", 4);
    private final int maxDocs = Integer.getInteger("bench.docs", 0);
    private final int bulk = Integer.getInteger("bench.bulk", 32);
    private final int clients = Integer.getInteger("bench.clients", 2);
    private final int batchSize = Integer.getInteger("bench.batch_size", 1);
    private final long pauseMs = Long.getLong("bench.search.pause_ms", 100);
    private final int modelPort = Integer.getInteger("bench.model.port", 9252);
    private final String pid = System.getProperty("bench.node.pid", "");

    /** Docs/s of each run, by phase name ("short ours", ...). */
    private final Map<String, List<Double>> docsPerSecond = new LinkedHashMap<>();
    /** Docs per CPU-second of the process doing the work (the node, or this JVM for the core), by phase. */
    private final Map<String, List<Double>> docsPerCpuSecond = new LinkedHashMap<>();
    private final Map<String, List<Double>> searchMs = new LinkedHashMap<>();
    private final Map<String, Long> corpusTokens = new LinkedHashMap<>();
    private final Map<String, Integer> corpusDocs = new LinkedHashMap<>();
    /** CPU seconds per document by kind of thread ({@link ThreadCpu}) in the last run of each phase, of the process doing the work. */
    private final Map<String, Map<String, Double>> threadCpu = new LinkedHashMap<>();
    /** Per phase of the last round: cores the node, this JVM (the bulk clients, or the core) and the rest used, and cores idle. */
    private final Map<String, double[]> machineUse = new LinkedHashMap<>();
    /** False during the warm-up rounds: nothing is recorded. */
    private boolean timed;
    /** Batches of the last run of each phase, from the stats API's counters summed over models: [batches, texts, tokens, padded tokens]. */
    private final Map<String, long[]> batchShapes = new LinkedHashMap<>();

    @Test
    void ingestAgainstMlCommonsAndCore() throws Exception {
        Cisi cisi = Cisi.read();
        List<String> abstracts = limit(new ArrayList<>(cisi.documents.values()));
        Map<String, List<String>> corpora = new LinkedHashMap<>();
        List<String> titles = abstracts.stream().map(d -> d.split("\n", 2)[0]).toList();
        List<String> shortTexts = new ArrayList<>();
        for (int pass = 0; pass < shortPasses; pass++) {
            shortTexts.addAll(titles); // each a document of its own (ids are positions); no path reuses one's vector for another
        }
        corpora.put("short", shortTexts);
        corpora.put("abstracts", abstracts);
        List<String> queries = new ArrayList<>(cisi.queries.values());
        boolean quantized = Files.isRegularFile(TestData.modelsDir().resolve(QUANTIZED).resolve("model.onnx"))
            && Node.get("/_plugins/_embedder/models/" + QUANTIZED).status() == 200;
        List<String> report = new ArrayList<>();

        try (Embedder core = new Embedder(TestData.modelsDir(), coreLimits(), Path.of("target/djl-cache"))) {
            try (TextTokenizer tokenizer = TextTokenizer.load(MODEL, TestData.modelsDir().resolve(MODEL).resolve("tokenizer.json"))) {
                corpora.forEach((name, texts) -> {
                    corpusDocs.put(name, texts.size());
                    corpusTokens.put(name, texts.stream().mapToLong(t -> tokenizer.encode(t, 512, Truncation.MODEL_DEFAULT).length()).sum());
                });
            }
            report.addAll(memory(quantized));
            String mlId = MlCommons.deploy(ML_MODEL, TestData.modelsDir().resolve(MODEL), "CLS", HIDDEN, modelPort);
            report.add(String.format(Locale.ROOT, "| after ml-commons deployed the same model (its runtime included) | %s |", rssMb()));
            report.add("");
            pipeline("perf-embed", MODEL);
            if (quantized) {
                pipeline("perf-embed-q", QUANTIZED);
            }
            MlCommons.pipeline("perf-ml", mlId, "body", "vec", batchSize);

            // untimed: the search index (also warms our path up), and a warm-up of the ml-commons path and the core
            BulkIngest.createIndex(SEARCH_INDEX, "perf-embed", MODEL, 2);
            BulkIngest.run(SEARCH_INDEX, abstracts, bulk, clients);
            BulkIngest.createIndex("perf-warmup", "perf-ml", MODEL, 1);
            BulkIngest.run("perf-warmup", corpora.get("short").subList(0, Math.min(64, abstracts.size())), bulk, clients);
            Node.delete("/perf-warmup");
            core(core, MODEL, corpora.get("short").subList(0, Math.min(64, abstracts.size())), Truncation.MODEL_DEFAULT);
            // the same documents with their vectors already in them: what indexing alone costs the node
            Map<String, List<String>> precomputed = new LinkedHashMap<>();
            for (Map.Entry<String, List<String>> corpus : corpora.entrySet()) {
                List<String> sources = new ArrayList<>();
                for (int from = 0; from < corpus.getValue().size(); from += 64) {
                    List<String> chunk = corpus.getValue().subList(from, Math.min(corpus.getValue().size(), from + 64));
                    List<float[]> vectors = core.embed(MODEL, EmbedParams.embed(chunk, Role.DOCUMENT)).vectors();
                    for (int i = 0; i < chunk.size(); i++) {
                        sources.add(Node.json(Map.of("body", chunk.get(i), "vec", vectors.get(i))));
                    }
                }
                precomputed.put(corpus.getKey(), sources);
            }

            for (int r = -warmupRounds; r < rounds; r++) {
                timed = r >= 0;
                double[] idle = SearchLoad.idle(SEARCH_INDEX, queries, queries.size());
                for (double ms : timed ? idle : new double[0]) {
                    searchMs.computeIfAbsent("idle", k -> new ArrayList<>()).add(ms);
                }
                for (Map.Entry<String, List<String>> corpus : corpora.entrySet()) {
                    String c = corpus.getKey();
                    List<String> texts = corpus.getValue();
                    List<Runnable> order = new ArrayList<>();
                    order.add(() -> ingest(c + " ours", "perf-embed", MODEL, texts, null));
                    order.add(() -> ingest(c + " ml-commons", "perf-ml", MODEL, texts, null));
                    if (quantized) {
                        order.add(() -> ingest(c + " ours int8", "perf-embed-q", QUANTIZED, texts, null));
                    }
                    if (Math.floorMod(r, 2) == 1) {
                        java.util.Collections.reverse(order);
                    }
                    order.forEach(Runnable::run);
                    coreRun(c + " core", core, MODEL, texts);
                    if (quantized) {
                        coreRun(c + " core int8", core, QUANTIZED, texts);
                    }
                    indexOnly(c + " precomputed", precomputed.get(c));
                    ingest(c + " ours + searches", "perf-embed", MODEL, texts, queries);
                }
            }
            report.addAll(throughput(quantized));
            report.addAll(latency());
            report.addAll(flops(core, abstracts));
            report.addAll(budgetSweep(corpora));
            report.addAll(quality(quantized, cisi, mlId, abstracts.size() == cisi.documents.size()));
            report.add("");
            report.add("| loaded models on the node at the end (several pipelines, a 2-shard search index, searches) | " + loadedModels() + " |");
            report.add("| --- | --- |");
            report.add("| node resident memory at the end, MB | " + rssMb() + " |");
        }
        String header = "Run of " + LocalDate.now() + ": " + corpusDocs.get("abstracts") + " abstracts, " + corpusDocs.get("short")
            + " short texts (their titles, " + shortPasses + " passes), " + warmupRounds + " warm-up and " + rounds + " timed rounds, bulks of " + bulk
            + " from " + clients + " clients, processors' batch_size " + batchSize + ", " + Runtime.getRuntime().availableProcessors()
            + " cores; medians over rounds.\n\n";
        String text = header + String.join("\n", report) + "\n";
        System.out.println(text);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/bench-ingest.md"), text);
    }

    /** The limits a node has by default (the plugin's settings' defaults). */
    static LoadedModel.Limits coreLimits() {
        return LoadedModel.Limits.defaults();
    }

    private List<String> limit(List<String> texts) {
        return maxDocs > 0 && maxDocs < texts.size() ? texts.subList(0, maxDocs) : texts;
    }

    private void pipeline(String name, String model) {
        Node.Response r = Node.put("/_ingest/pipeline/" + name, Node.json(Map.of("processors", List.of(Map.of("embed",
            Map.of("model", model, "field_map", Map.of("body", "vec"), "batch_size", batchSize))))));
        if (r.status() != 200) {
            throw new AssertionError("pipeline " + name + " -> " + r.body());
        }
    }

    /** One timed bulk ingest into a fresh index; with {@code queries}, a client searches the search index meanwhile. */
    private void ingest(String phase, String pipeline, String model, List<String> texts, List<String> queries) {
        String index = "perf-" + phase.replaceAll("[^a-z0-9]+", "-");
        BulkIngest.createIndex(index, pipeline, model, 1);
        try {
            SearchLoad searches = queries == null ? null : SearchLoad.start(SEARCH_INDEX, queries, pauseMs, docsPerSecond.size());
            double cpu = nodeCpuSeconds();
            long[] before = nodeBatches();
            Map<String, Double> threadsBefore = ThreadCpu.read(pid);
            double[] machine = ThreadCpu.machine();
            double jvm = jvmCpuSeconds();
            double seconds = BulkIngest.run(index, texts, bulk, clients);
            cpu = nodeCpuSeconds() - cpu;
            jvm = jvmCpuSeconds() - jvm;
            double[] machineAfter = ThreadCpu.machine();
            Map<String, Double> threads = ThreadCpu.minus(ThreadCpu.read(pid), threadsBefore);
            double[] searched = searches == null ? new double[0] : searches.stop();
            if (timed && machine != null && machineAfter != null) {
                double busy = machineAfter[0] - machine[0];
                machineUse.put(phase, new double[] {cpu / seconds, jvm / seconds, (busy - cpu - jvm) / seconds, (machineAfter[1] - machine[1]) / seconds});
            }
            if (timed) {
                batchShapes.put(phase, minus(nodeBatches(), before));
                recordThreads(phase, threads, texts.size());
                for (double ms : searched) {
                    searchMs.computeIfAbsent(phase, k -> new ArrayList<>()).add(ms);
                }
            }
            record(phase, texts.size() / seconds, texts.size() / cpu);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Bulk-indexes documents that already hold their vectors, without a pipeline. */
    private void indexOnly(String phase, List<String> sources) throws InterruptedException {
        String index = "perf-" + phase.replaceAll("[^a-z0-9]+", "-");
        BulkIngest.createIndex(index, "_none", MODEL, 1);
        double cpu = nodeCpuSeconds();
        Map<String, Double> threadsBefore = ThreadCpu.read(pid);
        double seconds = BulkIngest.runSources(index, sources, bulk, clients);
        cpu = nodeCpuSeconds() - cpu;
        if (timed) {
            recordThreads(phase, ThreadCpu.minus(ThreadCpu.read(pid), threadsBefore), sources.size());
        }
        record(phase, sources.size() / seconds, sources.size() / cpu);
    }

    /** Keeps a phase's CPU seconds by kind of thread, per document (nothing when /proc could not be read). */
    private void recordThreads(String phase, Map<String, Double> seconds, int docs) {
        if (seconds.isEmpty()) {
            return;
        }
        Map<String, Double> perDoc = new LinkedHashMap<>();
        seconds.forEach((kind, s) -> perDoc.put(kind, s / docs));
        threadCpu.put(phase, perDoc);
    }

    private void record(String phase, double perSecond, double perCpuSecond) {
        if (!timed) {
            System.out.printf(Locale.ROOT, "(warm-up) %s: %.1f docs/s, %.1f docs/CPU-s%n", phase, perSecond, perCpuSecond);
            return;
        }
        docsPerSecond.computeIfAbsent(phase, k -> new ArrayList<>()).add(perSecond);
        docsPerCpuSecond.computeIfAbsent(phase, k -> new ArrayList<>()).add(perCpuSecond);
        System.out.printf(Locale.ROOT, "%s: %.1f docs/s, %.1f docs/CPU-s%n", phase, perSecond, perCpuSecond);
    }

    private void coreRun(String phase, Embedder core, String model, List<String> texts) throws InterruptedException {
        double cpu = jvmCpuSeconds();
        long[] before = coreBatches(core);
        Map<String, Double> threadsBefore = ThreadCpu.read("self");
        double node = nodeCpuSeconds();
        double[] machine = ThreadCpu.machine();
        double seconds = core(core, model, texts, Truncation.MODEL_DEFAULT);
        cpu = jvmCpuSeconds() - cpu;
        node = nodeCpuSeconds() - node;
        double[] machineAfter = ThreadCpu.machine();
        if (timed && machine != null && machineAfter != null) {
            double busy = machineAfter[0] - machine[0];
            machineUse.put(phase, new double[] {node / seconds, cpu / seconds, (busy - cpu - node) / seconds, (machineAfter[1] - machine[1]) / seconds});
        }
        if (timed) {
            batchShapes.put(phase, minus(coreBatches(core), before));
            recordThreads(phase, ThreadCpu.minus(ThreadCpu.read("self"), threadsBefore), texts.size());
        }
        record(phase, texts.size() / seconds, texts.size() / cpu);
    }

    private static long[] coreBatches(Embedder core) {
        long[] sum = new long[4];
        for (ModelStats s : core.stats()) {
            ModelStats.Traffic t = s.traffic();
            long[] one = {t.batches(), t.texts(), t.tokens(), t.paddedTokens()};
            for (int i = 0; i < sum.length; i++) {
                sum[i] += one[i];
            }
        }
        return sum;
    }

    private static long[] nodeBatches() {
        long[] sum = new long[4];
        for (Map.Entry<String, JsonElement> model : Node.localStats(Node.base()).getAsJsonObject("models").entrySet()) {
            JsonObject m = model.getValue().getAsJsonObject();
            String[] fields = {"batches", "texts", "tokens", "padded_tokens"};
            for (int i = 0; i < sum.length; i++) {
                sum[i] += m.get(fields[i]).getAsLong();
            }
        }
        return sum;
    }

    private static long[] minus(long[] a, long[] b) {
        long[] d = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i] - b[i];
        }
        return d;
    }

    /** CPU time (user + system) the node has used, from /proc/<pid>/stat; NaN without bench.node.pid. */
    private double nodeCpuSeconds() {
        if (pid.isEmpty()) {
            return Double.NaN;
        }
        try {
            return ThreadCpu.cpuSeconds(Files.readString(Path.of("/proc", pid, "stat")));
        } catch (IOException e) {
            return Double.NaN;
        }
    }

    private static double jvmCpuSeconds() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
    }

    /** Embeds the texts with the core in this JVM, {@code clients} threads taking chunks of {@code bulk}; seconds. */
    private double core(Embedder core, String model, List<String> texts, Truncation truncation) throws InterruptedException {
        AtomicInteger next = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            threads.add(new Thread(() -> {
                int from;
                while ((from = next.getAndAdd(bulk)) < texts.size()) {
                    core.embed(model, new EmbedParams(texts.subList(from, Math.min(texts.size(), from + bulk)), Task.EMBED, Role.DOCUMENT,
                        null, null, truncation));
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

    private static double median(List<Double> values) {
        double[] a = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }

    private double rate(String phase) {
        List<Double> v = docsPerSecond.get(phase);
        return v == null ? Double.NaN : median(v);
    }

    private double cpuRate(String phase) {
        List<Double> v = docsPerCpuSecond.get(phase);
        return v == null ? Double.NaN : median(v);
    }

    private List<String> throughput(boolean quantized) {
        List<String> t = new ArrayList<>(List.of(
            "| corpus (avg tokens) | path | docs/s | tokens/s | ÷ ml-commons | ÷ core | docs per CPU-s | ÷ ml-commons per CPU-s |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"));
        for (String c : corpusDocs.keySet()) {
            double avgTokens = (double) corpusTokens.get(c) / corpusDocs.get(c);
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"ours", "our `embed` pipeline, fp32", "core"});
            rows.add(new String[] {"ours + searches", "our `embed` pipeline, fp32, while a client searches", "core"});
            rows.add(new String[] {"core", "embedder core called directly, fp32", null});
            rows.add(new String[] {"ml-commons", "ml-commons + `text_embedding`, fp32", null});
            rows.add(new String[] {"precomputed", "(indexing alone: the same documents with their vectors, no pipeline)", null});
            if (quantized) {
                rows.add(new String[] {"ours int8", "our `embed` pipeline, int8", "core int8"});
                rows.add(new String[] {"core int8", "embedder core called directly, int8", null});
            }
            for (String[] row : rows) {
                double docs = rate(c + " " + row[0]);
                double ml = rate(c + " ml-commons");
                String vsCore = row[2] == null ? "" : String.format(Locale.ROOT, "%.2f", docs / rate(c + " " + row[2]));
                boolean noRatio = row[0].equals("ml-commons") || row[0].equals("precomputed");
                String vsMl = noRatio ? "" : String.format(Locale.ROOT, "%.2f×", docs / ml);
                double cpu = cpuRate(c + " " + row[0]);
                String cpuVsMl = noRatio ? "" : String.format(Locale.ROOT, "%.2f×", cpu / cpuRate(c + " ml-commons"));
                t.add(String.format(Locale.ROOT, "| %s (%.1f) | %s | %.1f | %.0f | %s | %s | %.1f | %s |", c, avgTokens, row[1], docs,
                    docs * avgTokens, vsMl, vsCore, cpu, cpuVsMl));
            }
        }
        t.add("");
        t.add("| ratio of docs/s in each round (the phases of a round run back to back) | rounds | median |");
        t.add("| --- | --- | --- |");
        for (String c : corpusDocs.keySet()) {
            for (String[] pair : new String[][] {{"ours", "ml-commons"}, {"ours", "core"}, {"core", "ml-commons"}, {"ours int8", "ml-commons"},
                {"ours int8", "core int8"}}) {
                List<Double> a = docsPerSecond.get(c + " " + pair[0]), b = docsPerSecond.get(c + " " + pair[1]);
                if (a == null || b == null) {
                    continue;
                }
                List<Double> ratios = new ArrayList<>();
                for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
                    ratios.add(a.get(i) / b.get(i));
                }
                t.add(String.format(Locale.ROOT, "| %s: %s ÷ %s | %s | %.2f |", c, pair[0], pair[1],
                    String.join(", ", ratios.stream().map(r -> String.format(Locale.ROOT, "%.2f", r)).toList()), median(ratios)));
            }
        }
        t.add("");
        t.add("| ONNX batches of the last round's run (includes searches' batches where searches ran) | batches | texts per batch (texts embedded ÷ batches) | padded ÷ real tokens |");
        t.add("| --- | --- | --- | --- |");
        batchShapes.forEach((phase, b) -> {
            if (b[0] > 0) {
                t.add(String.format(Locale.ROOT, "| %s | %d | %.1f | %.2f |", phase, b[0], (double) b[1] / b[0], (double) b[3] / b[2]));
            }
        });
        t.add("");
        if (!threadCpu.isEmpty()) {
            t.add("| CPU ms per document by thread, last round (node; this JVM for the core) | " + String.join(" | ",
                threadCpu.values().iterator().next().keySet()) + " | all |");
            t.add("| --- | --- | --- | --- | --- | --- |");
            threadCpu.forEach((phase, kinds) -> t.add(String.format(Locale.ROOT, "| %s | %s | %.2f |", phase,
                String.join(" | ", kinds.values().stream().map(v -> String.format(Locale.ROOT, "%.2f", 1000 * v)).toList()),
                1000 * kinds.values().stream().mapToDouble(Double::doubleValue).sum())));
            t.add("");
        }
        if (!machineUse.isEmpty()) {
            t.add("| the machine's cores during each phase, last round (/proc/stat) | node | this JVM (bulk clients; the core's threads) | rest | idle |");
            t.add("| --- | --- | --- | --- | --- |");
            machineUse.forEach((phase, cores) -> t.add(String.format(Locale.ROOT, "| %s | %.2f | %.2f | %.2f | %.2f |", phase, cores[0], cores[1],
                cores[2], cores[3])));
            t.add("");
        }
        for (String c : corpusDocs.keySet()) {
            double pipeline = 1000 / cpuRate(c + " ours"), indexing = 1000 / cpuRate(c + " precomputed"), inference = 1000 / cpuRate(c + " core");
            t.add(String.format(Locale.ROOT, "CPU ms per %s document through our pipeline: %.2f = indexing %.2f (precomputed) + inference %.2f (core) "
                + "+ the plugin's own part %.2f.", c, pipeline, indexing, inference, pipeline - indexing - inference));
            t.add("");
        }
        return t;
    }

    private List<String> latency() {
        List<String> t = new ArrayList<>(List.of("| `text_knn` (k 10, CISI queries, 2-shard index of the abstracts) | searches | p50 ms | p99 ms | p99 ÷ idle p99 |",
            "| --- | --- | --- | --- | --- |"));
        double idle99 = SearchLoad.percentile(SearchLoad.sorted(searchMs.get("idle")), 99);
        searchMs.forEach((phase, values) -> {
            double[] s = SearchLoad.sorted(values);
            t.add(String.format(Locale.ROOT, "| %s | %d | %.1f | %.1f | %.2f |", phase.equals("idle") ? "idle node, back to back"
                : "during bulk ingest (" + phase.replace(" ours + searches", "") + ", our pipeline), one search every " + pauseMs + " ms",
                s.length, SearchLoad.percentile(s, 50), SearchLoad.percentile(s, 99), SearchLoad.percentile(s, 99) / idle99));
        });
        t.add("");
        return t;
    }

    /**
     * Matrix-multiply FLOPs of one BERT encoder pass over {@code tokens} tokens: per layer the Q, K, V and output
     * projections (4 × 2·L·d²), the feed-forward pair (2 × 2·L·d·f) and attention's two L×L products (2 × 2·L²·d).
     */
    static double encoderFlops(int tokens) {
        double l = tokens;
        return LAYERS * (8 * l * HIDDEN * HIDDEN + 4 * l * HIDDEN * FFN + 4 * l * l * HIDDEN);
    }

    private List<String> flops(Embedder core, List<String> abstracts) throws Exception {
        List<String> long128 = new ArrayList<>();
        try (TextTokenizer tokenizer = TextTokenizer.load(MODEL, TestData.modelsDir().resolve(MODEL).resolve("tokenizer.json"))) {
            for (String a : abstracts) {
                if (long128.size() < 300 && tokenizer.encode(a, 512, Truncation.MODEL_DEFAULT).length() >= 128) {
                    long128.add(a);
                }
            }
        }
        // 126 content tokens + [CLS] + [SEP] = 128 tokens per sequence, so every batch is exactly 128 wide
        Truncation t128 = new Truncation.KeepLast(126);
        core(core, MODEL, long128.subList(0, Math.min(64, long128.size())), t128);
        List<Double> seqPerSecond = new ArrayList<>();
        List<Double> seqPerCpuSecond = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            double cpu = jvmCpuSeconds();
            seqPerSecond.add(long128.size() / core(core, MODEL, long128, t128));
            seqPerCpuSecond.add(long128.size() / (jvmCpuSeconds() - cpu));
        }
        double seqs = median(seqPerSecond);
        double perCore = median(seqPerCpuSecond) * encoderFlops(128) / 1e9;
        double gflops = seqs * encoderFlops(128) / 1e9;
        double ghz = cpuGhz();
        int cores = Runtime.getRuntime().availableProcessors();
        double avx2Peak = cores * ghz * 32; // 2 FMA units × 8 fp32 lanes × 2 FLOPs per cycle
        return List.of("| core, bge-small fp32, 128-token sequences (" + long128.size() + " CISI abstracts cut to 128 tokens) | value |",
            "| --- | --- |",
            String.format(Locale.ROOT, "| sequences/s, tokens/s | %.1f, %.0f |", seqs, seqs * 128),
            String.format(Locale.ROOT, "| model FLOPs per sequence (matrix products, %d layers × (8·L·d² + 4·L·d·f + 4·L²·d)) | %.3f GFLOP |", LAYERS, encoderFlops(128) / 1e9),
            String.format(Locale.ROOT, "| achieved | %.1f GFLOP/s |", gflops),
            String.format(Locale.ROOT, "| FP32 peak, AVX2+FMA: %d cores × %.2f GHz × 32 FLOP/cycle | %.1f GFLOP/s → **%.0f%%** of it |", cores, ghz, avx2Peak, 100 * gflops / avx2Peak),
            String.format(Locale.ROOT, "| per CPU-second this JVM got (robust to other load on the machine) | %.1f GFLOP → %.0f%% of one core's AVX2+FMA peak |",
                perCore, 100 * perCore / (ghz * 32)),
            String.format(Locale.ROOT, "| (the CPU also reports AVX-512: %s; with two 512-bit FMA units the peak would be %.1f GFLOP/s → %.0f%%) | |",
                hasAvx512() ? "yes" : "no", 2 * avx2Peak, 50 * gflops / avx2Peak),
            "");
    }

    /**
     * The core's work per CPU-second as a function of the token budget, on the first documents of each corpus: why
     * the default budget is what it is (a batch's activations should stay in the core's cache).
     */
    private List<String> budgetSweep(Map<String, List<String>> corpora) throws Exception {
        List<Integer> budgets = Arrays.stream(System.getProperty("bench.budgets", "64,128,256,512,2048,8192").split(","))
            .map(String::trim).map(Integer::parseInt).toList();
        List<String> t = new ArrayList<>(List.of("| core, fp32, token budget (padded tokens per batch) | "
            + String.join(" | ", corpora.keySet().stream().map(c -> c + ": docs per CPU-s").toList()) + " |",
            "| --- |" + " --- |".repeat(corpora.size())));
        for (int budget : budgets) {
            LoadedModel.Limits d = LoadedModel.Limits.defaults();
            LoadedModel.Limits limits = new LoadedModel.Limits(d.maxBatchSize(), budget, d.intraOpThreads(), d.maxModelBytes(),
                d.inferenceThreads(), d.queryThreads(), d.maxWaitMicros());
            StringBuilder row = new StringBuilder("| " + budget + (budget == d.tokenBudget() ? " (default)" : "") + " |");
            try (Embedder e = new Embedder(TestData.modelsDir(), limits, Path.of("target/djl-cache"))) {
                for (List<String> texts : corpora.values()) {
                    List<String> sample = texts.subList(0, Math.min(300, texts.size()));
                    core(e, MODEL, sample.subList(0, Math.min(32, sample.size())), Truncation.MODEL_DEFAULT);
                    List<Double> rates = new ArrayList<>();
                    for (int r = 0; r < rounds; r++) {
                        double cpu = jvmCpuSeconds();
                        core(e, MODEL, sample, Truncation.MODEL_DEFAULT);
                        rates.add(sample.size() / (jvmCpuSeconds() - cpu));
                    }
                    row.append(String.format(Locale.ROOT, " %.1f |", median(rates)));
                }
            }
            t.add(row.toString());
        }
        t.add("");
        return t;
    }

    private List<String> quality(boolean quantized, Cisi cisi, String mlId, boolean allDocs) throws IOException {
        List<String> t = new ArrayList<>(List.of("| quality (int8 cost) | STS-dev Spearman (role query) | CISI nDCG@10 (text_knn on the ingested index) |",
            "| --- | --- | --- |"));
        if (!allDocs) {
            t.add("| (CISI nDCG@10 needs all documents: run without bench.docs) | | |");
        }
        t.add(String.format(Locale.ROOT, "| fp32 %s | %.4f | %s |", MODEL, sts(MODEL), allDocs ? String.format(Locale.ROOT, "%.4f", ndcg(cisi, "perf-abstracts-ours", null)) : "n/a"));
        if (quantized) {
            t.add(String.format(Locale.ROOT, "| int8 %s | %.4f | %s |", QUANTIZED, sts(QUANTIZED), allDocs ? String.format(Locale.ROOT, "%.4f", ndcg(cisi, "perf-abstracts-ours-int8", null)) : "n/a"));
        }
        if (allDocs) {
            t.add(String.format(Locale.ROOT, "| ml-commons path, fp32 (`neural` query on its own index; a check that it embeds alike) | | %.4f |", ndcg(cisi, "perf-abstracts-ml-commons", mlId)));
        }
        t.add("");
        return t;
    }

    private static double ndcg(Cisi cisi, String index, String mlModelId) {
        List<String> cisiIds = new ArrayList<>(cisi.documents.keySet());
        double sum = 0;
        for (Map.Entry<String, Set<String>> judged : cisi.relevant.entrySet()) {
            String text = cisi.queries.get(judged.getKey());
            Object query = mlModelId == null ? Map.of("text_knn", Map.of("vec", Map.of("query_text", text, "k", 10)))
                : Map.of("neural", Map.of("vec", Map.of("query_text", text, "model_id", mlModelId, "k", 10)));
            Node.Response r = Node.post("/" + index + "/_search", Node.json(Map.of("size", 10, "_source", false, "query", query)));
            if (r.status() != 200) {
                throw new AssertionError("search " + index + " -> " + r.body());
            }
            // the bench numbers documents 0..n-1 in CISI order: map back to CISI's own ids
            List<String> ranking = new ArrayList<>();
            r.object().getAsJsonObject("hits").getAsJsonArray("hits")
                .forEach(h -> ranking.add(cisiIds.get(Integer.parseInt(h.getAsJsonObject().get("_id").getAsString()))));
            sum += Retrieval.ndcg(ranking, judged.getValue(), 10);
        }
        return sum / cisi.relevant.size();
    }

    private static double sts(String model) throws IOException {
        List<String> a = new ArrayList<>(), b = new ArrayList<>();
        List<Double> gold = new ArrayList<>();
        for (String line : Files.readAllLines(TestData.shared("stsbenchmark/sts-dev.csv"), StandardCharsets.UTF_8)) {
            String[] f = line.split("\t");
            if (f.length >= 7) {
                gold.add(Double.parseDouble(f[4]));
                a.add(f[5]);
                b.add(f[6]);
            }
        }
        List<float[]> va = Node.embedAll(model, a, "query", 64), vb = Node.embedAll(model, b, "query", 64);
        double[] cos = new double[va.size()];
        for (int i = 0; i < cos.length; i++) {
            cos[i] = VectorOps.cosine(va.get(i), vb.get(i));
        }
        return Spearman.correlation(cos, gold.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** Node resident memory before any model, and after each model's first use. */
    private List<String> memory(boolean quantized) {
        List<String> t = new ArrayList<>(List.of("| node resident memory, MB | value |", "| --- | --- |"));
        String loaded = loadedModels();
        if (!loaded.equals("[]")) {
            t.add("| (models were loaded before the bench started: " + loaded + "; per-model figures need a fresh node) | |");
        }
        t.add("| before any model | " + rssMb() + " |");
        Node.embedAll(MODEL, List.of("warm"), "document", 1);
        t.add("| after " + MODEL + " (fp32) loaded (includes ONNX Runtime and the tokenizer library) | " + rssMb() + " |");
        if (quantized) {
            Node.embedAll(QUANTIZED, List.of("warm"), "document", 1);
            t.add("| after " + QUANTIZED + " (int8) loaded | " + rssMb() + " |");
        }
        return t;
    }

    private static String loadedModels() {
        List<String> loaded = new ArrayList<>();
        for (Map.Entry<String, JsonElement> model : Node.localStats(Node.base()).getAsJsonObject("models").entrySet()) {
            if (model.getValue().getAsJsonObject().get("loaded").getAsBoolean()) {
                loaded.add(model.getKey());
            }
        }
        return loaded.toString();
    }

    private String rssMb() {
        if (pid.isEmpty()) {
            return "? (no bench.node.pid)";
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc", pid, "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return String.valueOf(Long.parseLong(line.replaceAll("\\D", "")) / 1024);
                }
            }
        } catch (IOException e) {
            return "?";
        }
        return "?";
    }

    private static double cpuGhz() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
            if (line.startsWith("cpu MHz")) {
                return Double.parseDouble(line.substring(line.indexOf(':') + 1).trim()) / 1000;
            }
        }
        return Double.NaN;
    }

    private static boolean hasAvx512() throws IOException {
        return Arrays.stream(Files.readString(Path.of("/proc/cpuinfo")).split("\\s+")).anyMatch("avx512f"::equals);
    }
}
