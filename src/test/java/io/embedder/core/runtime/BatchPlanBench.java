package io.embedder.core.runtime;

import io.embedder.core.Role;
import io.embedder.core.TestData;
import io.embedder.core.model.ModelSpecReader;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What the batch cut costs in ONNX Runtime: CISI titles (or abstracts, {@code -Dbench.abstracts=true}) taken
 * {@code -Dbench.pool} at a time (32: one bulk's sub-batch), cut by {@link BatchPlanner#plan} and by the former cut
 * (batches as full as the token budget allows, in length order), each batch run through the padded graph on one
 * thread, and cut by {@link BatchPlanner#plan} with {@link UnpaddedGraph#PADDING_COST} through the
 * {@link UnpaddedGraph unpadded} graph; texts per second of that thread's CPU time, rounds alternating the order.
 * Not a test: runs with {@code -Dbench=true} ({@code mvn -Pall-models test -Dtest=BatchPlanBench -Dbench=true
 * [-Dbench.texts=640] [-Dbench.rounds=5] [-Dbench.pool=32] [-Dbench.budget=256] [-Dbench.threads=1]}: threads at once,
 * each on its share of the chunks, as the node's inference threads run); writes target/bench-batch-plan.md.
 */
class BatchPlanBench {

    private static final String MODEL = "bge-small-en-v1.5";
    private static final int MAX_BATCH = LoadedModel.Limits.DEFAULT_MAX_BATCH_SIZE;
    private static final int BUDGET = Integer.getInteger("bench.budget", LoadedModel.Limits.DEFAULT_TOKEN_BUDGET);

    @Test
    void cheapestCutAgainstFullestBatches() throws Exception {
        assumeTrue(Boolean.getBoolean("bench"), "a benchmark: run with -Dbench=true");
        TestData.assumeModel(MODEL);
        DjlEnvironment.configure(Path.of("target/djl-cache"));
        boolean abstracts = Boolean.getBoolean("bench.abstracts");
        int pool = Integer.getInteger("bench.pool", 32);
        int rounds = Integer.getInteger("bench.rounds", 5);
        List<String> texts = cisi(abstracts, Integer.getInteger("bench.texts", abstracts ? 160 : 640));
        String[] report = new String[1];
        Thread t = new Thread(null, () -> report[0] = run(texts, pool, rounds, abstracts), "bench-native", 16L << 20);
        t.start();
        t.join();
        System.out.println(report[0]);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/bench-batch-plan.md"), report[0]);
    }

    private static String run(List<String> texts, int pool, int rounds, boolean abstracts) {
        LoadedModel.Limits limits = new LoadedModel.Limits(MAX_BATCH, BUDGET, 1, Long.MAX_VALUE, 1);
        var spec = ModelSpecReader.read(MODEL, TestData.modelsDir().resolve(MODEL));
        try (LoadedModel model = LoadedModel.load(spec, limits.withUnpad(false)); LoadedModel unpadded = LoadedModel.load(spec, limits.withUnpad(true))) {
            if (unpadded.encoder(io.embedder.core.Task.EMBED).paddingCost() == 1.0) {
                throw new IllegalStateException("the unpadding rewrite did not apply to " + MODEL);
            }
            List<String> cuts = List.of("fullest", "cheapest", "unpadded");
            List<TokenizedText> tokenized = new ArrayList<>();
            for (String text : texts) {
                tokenized.add(model.tokenize(model.prompt(Role.DOCUMENT), text, model.spec().maxTokens().value(), Truncation.MODEL_DEFAULT));
            }
            int threads = Integer.getInteger("bench.threads", 1);
            Map<String, List<Double>> perCpuSecond = new LinkedHashMap<>();
            Map<String, double[]> shape = new LinkedHashMap<>();
            for (int round = -1; round < rounds; round++) {
                for (String cut : round % 2 == 0 ? cuts : cuts.reversed()) {
                    // {CPU ns, real tokens, padded tokens, batches} of each thread, over every threads-th chunk
                    long[][] totals = new long[threads][];
                    List<Thread> workers = new ArrayList<>();
                    for (int t = 0; t < threads; t++) {
                        int self = t;
                        workers.add(new Thread(null, () -> totals[self] = runCut(cut.equals("unpadded") ? unpadded : model, cut, tokenized, pool,
                            self, threads), "bench-native-" + t, 16L << 20));
                    }
                    workers.forEach(Thread::start);
                    for (Thread w : workers) {
                        try {
                            w.join();
                        } catch (InterruptedException e) {
                            throw new IllegalStateException(e);
                        }
                    }
                    long[] sum = new long[4];
                    for (long[] t : totals) {
                        for (int k = 0; k < 4; k++) {
                            sum[k] += t[k];
                        }
                    }
                    if (round >= 0) {
                        int done = tokenized.size() / pool * pool;
                        perCpuSecond.computeIfAbsent(cut, k -> new ArrayList<>()).add(done / (sum[0] / 1e9));
                        shape.put(cut, new double[] {(double) sum[2] / sum[1], (double) done / sum[3]});
                    }
                }
            }
            double fullest = median(perCpuSecond.get("fullest"));
            StringBuilder sb = new StringBuilder(String.format(
                "| cut of %d CISI %s at a time (%s, budget %d, %d thread%s) | padded ÷ real tokens | texts per batch | texts per CPU-s (rounds; median) | ÷ fullest |%n"
                    + "| --- | --- | --- | --- | --- |%n", pool, abstracts ? "abstracts" : "titles", MODEL, BUDGET, threads, threads == 1 ? "" : "s at once"));
            for (String cut : cuts) {
                List<Double> v = perCpuSecond.get(cut);
                sb.append(String.format("| %s | %.3f | %.1f | %s; **%.1f** | %.2f× |%n", switch (cut) {
                        case "fullest" -> "padded graph, batches as full as the budget allows";
                        case "cheapest" -> "padded graph, cheapest cut (`BatchPlanner.plan`)";
                        default -> "unpadded graph, cheapest cut at padding cost " + UnpaddedGraph.PADDING_COST;
                    }, shape.get(cut)[0],
                    shape.get(cut)[1], v.stream().map(x -> String.format("%.1f", x)).toList(), median(v), median(v) / fullest));
            }
            return sb.toString();
        }
    }

    /**
     * Runs every {@code threads}-th chunk of {@code pool} texts from chunk {@code self} on, cut as {@code cut} says;
     * returns {CPU ns of this thread, real tokens, padded tokens, batches}.
     */
    private static long[] runCut(LoadedModel model, String cut, List<TokenizedText> tokenized, int pool, int self, int threads) {
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        BatchBuffers buffers = new BatchBuffers();
        long before = cpu.getCurrentThreadCpuTime();
        long real = 0;
        long padded = 0;
        int batches = 0;
        for (int from = self * pool; from + pool <= tokenized.size(); from += threads * pool) {
            List<TokenizedText> chunk = tokenized.subList(from, from + pool);
            int[] lengths = chunk.stream().mapToInt(TokenizedText::length).toArray();
            List<int[]> plan = switch (cut) {
                case "fullest" -> fullest(lengths);
                case "cheapest" -> BatchPlanner.plan(lengths, MAX_BATCH, BUDGET);
                default -> BatchPlanner.plan(lengths, MAX_BATCH, BUDGET, UnpaddedGraph.PADDING_COST);
            };
            for (int[] batch : plan) {
                List<TokenizedText> members = Arrays.stream(batch).mapToObj(chunk::get).toList();
                model.run(members, buffers, LoadedModel.BatchObserver.NONE, io.embedder.core.Task.EMBED);
                int longest = Arrays.stream(batch).map(i -> lengths[i]).max().orElseThrow();
                real += Arrays.stream(batch).map(i -> lengths[i]).sum();
                padded += (long) longest * batch.length;
                batches++;
            }
        }
        return new long[] {cpu.getCurrentThreadCpuTime() - before, real, padded, batches};
    }

    /** The former cut: length order, each batch as full as the limits allow. */
    private static List<int[]> fullest(int[] lengths) {
        Integer[] order = new Integer[lengths.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingInt(i -> lengths[i]));
        List<int[]> batches = new ArrayList<>();
        for (int start = 0; start < order.length; ) {
            int end = start + 1;
            while (end < order.length && end - start < MAX_BATCH && (long) (end - start + 1) * lengths[order[end]] <= BUDGET) {
                end++;
            }
            batches.add(Arrays.stream(order, start, end).mapToInt(Integer::intValue).toArray());
            start = end;
        }
        return batches;
    }

    /** The first {@code limit} CISI documents: the title, or title and abstract. */
    private static List<String> cisi(boolean abstracts, int limit) throws java.io.IOException {
        List<String> out = new ArrayList<>();
        StringBuilder title = new StringBuilder();
        StringBuilder body = new StringBuilder();
        char field = ' ';
        List<String> lines = new ArrayList<>(Files.readAllLines(TestData.shared("cisi/CISI.ALL")));
        lines.add(".I end");
        for (String line : lines) {
            if (line.startsWith(".I ")) {
                if (!title.isEmpty() && out.size() < limit) {
                    out.add((abstracts ? title + " " + body : title.toString()).replaceAll("\\s+", " ").trim());
                }
                title.setLength(0);
                body.setLength(0);
                field = ' ';
            } else if (line.matches("\\.[A-Z]\\s*")) {
                field = line.charAt(1);
            } else if (field == 'T') {
                title.append(line).append(' ');
            } else if (field == 'W') {
                body.append(line).append(' ');
            }
        }
        return out;
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }
}
