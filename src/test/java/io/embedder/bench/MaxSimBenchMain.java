package io.embedder.bench;

import io.embedder.core.lateinteraction.MaxSimScorer;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * Runs {@link MaxSimBench} twice in one command: in JVMs started with {@code --add-modules jdk.incubator.vector}
 * (as the OpenSearch node is: Lucene's VectorUtil and our Panama kernel then use SIMD), and the plugin's scorer again
 * in JVMs without that module (the plain Java kernel). Prints a table of medians over the measurement iterations:
 * documents per wall-clock second, documents per CPU-second of the benchmark thread, and GFLOP/s per CPU-second
 * ({@code 2·Q·D·dims} per document); writes it to {@code target/bench-maxsim.md}.
 * System properties: {@code bench.warmup}, {@code bench.iterations} (per fork), {@code bench.time} (seconds each).
 * Run this JVM with {@code --add-modules jdk.incubator.vector} too: the table names the kernel it picks.
 */
public final class MaxSimBenchMain {

    private static final List<String> HEAP = List.of("-Xms1g", "-Xmx1g");
    private static final String WITHOUT_MODULE = ", no jdk.incubator.vector";

    public static void main(String[] args) throws Exception {
        String loadBefore = loadAverage();
        List<Row> rows = new ArrayList<>();
        List<String> withModule = new ArrayList<>(HEAP);
        withModule.add("--add-modules=jdk.incubator.vector");
        for (RunResult r : new Runner(options(withModule, MaxSimBench.class.getName() + "\\..*").build()).run()) {
            rows.add(row(r, ""));
        }
        for (RunResult r : new Runner(options(HEAP, MaxSimBench.class.getName() + "\\.(scorer|prepareQuery)$").build()).run()) {
            rows.add(row(r, WITHOUT_MODULE));
        }
        String table = table(rows, loadBefore, loadAverage());
        System.out.println(table);
        Files.writeString(Path.of("target", "bench-maxsim.md"), table, StandardCharsets.UTF_8);
    }

    private static ChainedOptionsBuilder options(List<String> jvmArgs, String include) {
        TimeValue time = TimeValue.seconds(Integer.getInteger("bench.time", 2));
        return new OptionsBuilder().include(include)
            .jvmArgs(jvmArgs.toArray(String[]::new))
            .warmupIterations(Integer.getInteger("bench.warmup", 3))
            .measurementIterations(Integer.getInteger("bench.iterations", 5))
            .warmupTime(time)
            .measurementTime(time);
    }

    private record Row(String type, String implementation, double wallPerSecond, double cpuPerSecond) {}

    private static Row row(RunResult r, String suffix) {
        String benchmark = r.getParams().getBenchmark();
        Collection<BenchmarkResult> forks = r.getBenchmarkResults();
        double wall = median(forks, it -> it.getPrimaryResult().getScore());
        double cpu = median(forks, it -> it.getSecondaryResults().get("docs").getScore()
            / (it.getSecondaryResults().get("cpuNanos").getScore() / 1e9));
        return new Row(r.getParams().getParam("type"), benchmark.substring(benchmark.lastIndexOf('.') + 1) + suffix, wall, cpu);
    }

    private static double median(Collection<BenchmarkResult> forks, ToDoubleFunction<IterationResult> value) {
        List<Double> values = new ArrayList<>();
        for (BenchmarkResult fork : forks) {
            for (IterationResult it : fork.getIterationResults()) {
                values.add(value.applyAsDouble(it));
            }
        }
        double[] s = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static String table(List<Row> rows, String loadBefore, String loadAfter) {
        double flopsPerDoc = 2.0 * MaxSimBench.QUERY_VECTORS * MaxSimBench.DOC_VECTORS * MaxSimBench.DIMS;
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
            "MaxSim, %d query vectors × %d document vectors × %d dims, one thread; medians of the measurement iterations.%n"
                + "Plugin kernel with the module: %s; without: the plain Java kernel. Java %s. Load average before / after: %s / %s.%n%n",
            MaxSimBench.QUERY_VECTORS, MaxSimBench.DOC_VECTORS, MaxSimBench.DIMS, MaxSimScorer.kernel(), Runtime.version(), loadBefore, loadAfter));
        out.append("| storage | implementation | documents/s (wall) | documents per CPU-second | GFLOP/s per CPU-second | × scalar loop |\n");
        out.append("| --- | --- | --- | --- | --- | --- |\n");
        for (String type : List.of("float", "byte", "bit")) {
            double scalar = rows.stream().filter(r -> r.type.equals(type) && r.implementation.equals("scalarLoop"))
                .mapToDouble(Row::cpuPerSecond).findFirst().orElse(Double.NaN);
            rows.stream().filter(r -> r.type.equals(type) && !r.implementation.startsWith("prepareQuery")).forEach(r -> out.append(String.format(Locale.ROOT,
                "| %s | %s | %,.0f | %,.0f | %.1f | %.1f× |%n", r.type, r.implementation, r.wallPerSecond, r.cpuPerSecond,
                r.cpuPerSecond * flopsPerDoc / 1e9, r.cpuPerSecond / scalar)));
        }
        out.append("\n| storage | preparing the query (once per search) | µs of CPU time (median) |\n| --- | --- | --- |\n");
        rows.stream().filter(r -> r.implementation.startsWith("prepareQuery")).forEach(r -> out.append(String.format(Locale.ROOT,
            "| %s | %s | %.1f |%n", r.type, r.implementation, 1e6 / r.cpuPerSecond)));
        return out.toString();
    }

    private static String loadAverage() {
        try {
            return String.join(" ", List.of(Files.readString(Path.of("/proc/loadavg")).split(" ")).subList(0, 3));
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    private MaxSimBenchMain() {}
}
