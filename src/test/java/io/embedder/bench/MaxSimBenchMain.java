package io.embedder.bench;

import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * Runs {@link MaxSimBench} twice in one command: in JVMs started with {@code --add-modules jdk.incubator.vector}
 * (as the OpenSearch node is: Lucene's VectorUtil and our kernels then use the Panama Vector API), and the plugin's
 * scorer again in JVMs without that module (what runs where the module is absent). Prints a table of median
 * documents/s and GFLOP/s (2·Q·D·dims per document) and writes it to {@code target/bench-maxsim.md}.
 * System properties: {@code bench.warmup}, {@code bench.iterations} (per fork), {@code bench.time} (seconds each).
 */
public final class MaxSimBenchMain {

    private static final List<String> HEAP = List.of("-Xms1g", "-Xmx1g");

    public static void main(String[] args) throws Exception {
        List<Row> rows = new ArrayList<>();
        List<String> withModule = new ArrayList<>(HEAP);
        withModule.add("--add-modules=jdk.incubator.vector");
        for (RunResult r : new Runner(options(withModule, MaxSimBench.class.getName() + "\\..*").build()).run()) {
            rows.add(row(r, ""));
        }
        for (RunResult r : new Runner(options(HEAP, MaxSimBench.class.getName() + "\\.scorer$").build()).run()) {
            rows.add(row(r, ", no jdk.incubator.vector"));
        }
        String table = table(rows);
        System.out.println(table);
        Files.writeString(Path.of("target", "bench-maxsim.md"), table, StandardCharsets.UTF_8);
    }

    private static ChainedOptionsBuilder options(List<String> jvmArgs, String include) {
        return new OptionsBuilder().include(include)
            .jvmArgs(jvmArgs.toArray(String[]::new))
            .warmupIterations(Integer.getInteger("bench.warmup", 3))
            .measurementIterations(Integer.getInteger("bench.iterations", 5))
            .warmupTime(TimeValue.seconds(Integer.getInteger("bench.time", 2)))
            .measurementTime(TimeValue.seconds(Integer.getInteger("bench.time", 2)));
    }

    private record Row(String type, String implementation, double medianDocsPerSecond) {}

    private static Row row(RunResult r, String suffix) {
        String method = r.getParams().getBenchmark().substring(r.getParams().getBenchmark().lastIndexOf('.') + 1);
        return new Row(r.getParams().getParam("type"), method + suffix, median(r.getBenchmarkResults()));
    }

    private static double median(Collection<BenchmarkResult> forks) {
        List<Double> scores = new ArrayList<>();
        for (BenchmarkResult fork : forks) {
            for (IterationResult it : fork.getIterationResults()) {
                scores.add(it.getPrimaryResult().getScore());
            }
        }
        double[] s = scores.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static String table(List<Row> rows) {
        double flopsPerDoc = 2.0 * MaxSimBench.QUERY_VECTORS * MaxSimBench.DOC_VECTORS * MaxSimBench.DIMS;
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
            "MaxSim, %d query vectors × %d document vectors × %d dims, one thread; median of the measurement iterations%n%n",
            MaxSimBench.QUERY_VECTORS, MaxSimBench.DOC_VECTORS, MaxSimBench.DIMS));
        out.append("| storage | implementation | documents/s | GFLOP/s (2·Q·D·dims per document) | × scalar loop |\n");
        out.append("| --- | --- | --- | --- | --- |\n");
        for (String type : List.of("float", "byte", "bit")) {
            double scalar = rows.stream().filter(r -> r.type.equals(type) && r.implementation.equals("scalarLoop"))
                .mapToDouble(Row::medianDocsPerSecond).findFirst().orElse(Double.NaN);
            rows.stream().filter(r -> r.type.equals(type)).forEach(r -> out.append(String.format(Locale.ROOT,
                "| %s | %s | %,.0f | %.1f | %.2f× |%n", r.type, r.implementation, r.medianDocsPerSecond,
                r.medianDocsPerSecond * flopsPerDoc / 1e9, r.medianDocsPerSecond / scalar)));
        }
        return out.toString();
    }

    private MaxSimBenchMain() {}
}
