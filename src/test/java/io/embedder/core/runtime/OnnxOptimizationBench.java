package io.embedder.core.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.embedder.core.TestData;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * ONNX Runtime session settings on the bundled models: one session per variant, one intra-op thread, the same inputs
 * run on each in turn (order alternating), median CPU time of the thread per run. Not tests: they run with
 * {@code -Dbench=true}, {@code [-Dbench.runs=N]}.
 * <ul>
 *   <li>{@link #optimizationLevels}: all, extended and basic graph optimization, for the batch shapes of short texts
 *       and of abstracts, on every bundled model ({@code mvn -Pall-models test -Dtest=OnnxOptimizationBench#optimizationLevels
 *       -Dbench=true}, add {@code -Pquantized} for the int8 variant); writes target/bench-onnx-optimization.md.</li>
 *   <li>{@link #sessionOptions}: beside the embedder's own settings (basic level), flushing denormals to zero, no
 *       memory pattern, no CPU arena, on bge-small-en-v1.5 ({@code -Dtest=OnnxOptimizationBench#sessionOptions});
 *       writes target/bench-session-options.md.</li>
 *   <li>{@link #fusions}: basic and extended level, and the extended level less some of its fusions (ONNX Runtime's
 *       {@code optimization.disable_specified_optimizers}), on {@code -Dbench.model} (bge-small-en-v1.5); writes
 *       target/bench-fusions.md.</li>
 * </ul>
 */
class OnnxOptimizationBench {

    /** Settings applied to a session's options on top of one intra-op thread. */
    private interface Variant {
        void apply(OrtSession.SessionOptions options) throws OrtException;
    }

    @Test
    void optimizationLevels() throws Exception {
        assumeTrue(Boolean.getBoolean("bench"), "a benchmark: run with -Dbench=true");
        Map<String, Variant> levels = new LinkedHashMap<>();
        for (OrtSession.SessionOptions.OptLevel level : List.of(OrtSession.SessionOptions.OptLevel.ALL_OPT,
            OrtSession.SessionOptions.OptLevel.EXTENDED_OPT, OrtSession.SessionOptions.OptLevel.BASIC_OPT)) {
            levels.put(level.toString(), o -> o.setOptimizationLevel(level));
        }
        // [batch, sequence]: a batch of short texts as the scheduler cuts them, a bigger one, one abstract, two 128-token texts
        int[][] shapes = {{6, 13}, {12, 17}, {1, 168}, {2, 128}};
        StringBuilder report = new StringBuilder("| model | batch × tokens | " + String.join(" | ", levels.keySet().stream()
            .map(l -> l + " ms CPU").toList()) + " | basic ÷ all (speed-up) |\n| --- | --- |" + " --- |".repeat(levels.size() + 1) + "\n");
        for (String model : List.of("bge-small-en-v1.5", "bge-small-en-v1.5-q", "all-MiniLM-L6-v2", "e5-small-v2")) {
            Path onnx = TestData.modelsDir().resolve(model).resolve("model.onnx");
            if (!Files.isRegularFile(onnx)) {
                continue;
            }
            double[][] medians = onBigStack(() -> medianCpuMillis(onnx, levels, shapes));
            for (int s = 0; s < shapes.length; s++) {
                report.append(String.format("| %s | %d × %d | %s | %.3f× |%n", model, shapes[s][0], shapes[s][1], cells(medians[s]),
                    medians[s][0] / medians[s][levels.size() - 1]));
            }
        }
        write("target/bench-onnx-optimization.md", report.toString());
    }

    @Test
    void sessionOptions() throws Exception {
        assumeTrue(Boolean.getBoolean("bench"), "a benchmark: run with -Dbench=true");
        Map<String, Variant> variants = new LinkedHashMap<>();
        variants.put("the embedder's (basic level)", o -> o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.BASIC_OPT));
        variants.put("denormals as zero", o -> {
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.BASIC_OPT);
            o.addConfigEntry("session.set_denormal_as_zero", "1");
        });
        variants.put("no memory pattern", o -> {
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.BASIC_OPT);
            o.setMemoryPatternOptimization(false);
        });
        variants.put("no CPU arena", o -> {
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.BASIC_OPT);
            o.setCPUArenaAllocator(false);
        });
        // [batch, sequence]: batches of titles as the scheduler cuts them, one abstract
        int[][] shapes = {{7, 13}, {6, 15}, {1, 160}};
        Path onnx = TestData.modelsDir().resolve("bge-small-en-v1.5").resolve("model.onnx");
        double[][] medians = onBigStack(() -> medianCpuMillis(onnx, variants, shapes));
        StringBuilder report = new StringBuilder("| bge-small-en-v1.5, batch × tokens | " + String.join(" | ", variants.keySet().stream()
            .map(v -> v + ", ms CPU").toList()) + " |\n| --- |" + " --- |".repeat(variants.size()) + "\n");
        for (int s = 0; s < shapes.length; s++) {
            report.append(String.format("| %d × %d | %s |%n", shapes[s][0], shapes[s][1], cells(medians[s])));
        }
        write("target/bench-session-options.md", report.toString());
    }

    @Test
    void fusions() throws Exception {
        assumeTrue(Boolean.getBoolean("bench"), "a benchmark: run with -Dbench=true");
        Map<String, Variant> variants = new LinkedHashMap<>();
        variants.put("basic", o -> o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.BASIC_OPT));
        variants.put("extended", o -> o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.EXTENDED_OPT));
        String[][] off = {
            {"LayerNormFusion", "SkipLayerNormFusion", "SimplifiedLayerNormFusion", "EmbedLayerNormFusion"},
            {"BiasGeluFusion", "GeluFusion", "FastGeluFusion"},
            {"AttentionFusion"},
            {"LayerNormFusion", "SkipLayerNormFusion", "SimplifiedLayerNormFusion", "EmbedLayerNormFusion", "AttentionFusion"},
        };
        for (String[] names : off) {
            variants.put("extended − " + String.join(", ", names), o -> {
                o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.EXTENDED_OPT);
                o.addConfigEntry("optimization.disable_specified_optimizers", String.join(";", names));
            });
        }
        int[][] shapes = {{7, 13}, {14, 16}, {1, 160}};
        String model = System.getProperty("bench.model", "bge-small-en-v1.5");
        Path onnx = TestData.modelsDir().resolve(model).resolve("model.onnx");
        double[][] medians = onBigStack(() -> medianCpuMillis(onnx, variants, shapes));
        StringBuilder report = new StringBuilder("| " + model + ", batch × tokens | " + String.join(" | ", variants.keySet().stream()
            .map(v -> v + ", ms CPU").toList()) + " |\n| --- |" + " --- |".repeat(variants.size()) + "\n");
        for (int s = 0; s < shapes.length; s++) {
            report.append(String.format("| %d × %d | %s |%n", shapes[s][0], shapes[s][1], cells(medians[s])));
        }
        write("target/bench-fusions.md", report.toString());
    }

    /** Median CPU ms per run, [shape][variant], of one session per variant on {@code onnx}. Needs a big stack. */
    private static double[][] medianCpuMillis(Path onnx, Map<String, Variant> variants, int[][] shapes) {
        int runs = Integer.getInteger("bench.runs", 41);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<OrtSession> sessions = new ArrayList<>();
        try {
            for (Variant v : variants.values()) {
                try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
                    options.setIntraOpNumThreads(1);
                    options.setInterOpNumThreads(1);
                    v.apply(options);
                    sessions.add(env.createSession(onnx.toString(), options));
                }
            }
            ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
            double[][] medians = new double[shapes.length][];
            for (int s = 0; s < shapes.length; s++) {
                Map<String, OnnxTensor> inputs = inputs(env, sessions.get(0), shapes[s][0], shapes[s][1]);
                for (OrtSession session : sessions) {
                    for (int w = 0; w < 5; w++) {
                        session.run(inputs).close();
                    }
                }
                long[][] nanos = new long[sessions.size()][runs];
                for (int r = 0; r < runs; r++) {
                    for (int k = 0; k < sessions.size(); k++) {
                        int which = r % 2 == 0 ? k : sessions.size() - 1 - k;
                        long before = cpu.getCurrentThreadCpuTime();
                        sessions.get(which).run(inputs).close();
                        nanos[which][r] = cpu.getCurrentThreadCpuTime() - before;
                    }
                }
                medians[s] = Arrays.stream(nanos).mapToDouble(n -> {
                    long[] sorted = n.clone();
                    Arrays.sort(sorted);
                    return sorted[sorted.length / 2] / 1e6;
                }).toArray();
                inputs.values().forEach(OnnxTensor::close);
            }
            return medians;
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        } finally {
            for (OrtSession s : sessions) {
                try {
                    s.close();
                } catch (OrtException ignored) {
                    // closing anyway
                }
            }
        }
    }

    private static Map<String, OnnxTensor> inputs(OrtEnvironment env, OrtSession session, int batch, int seq) throws OrtException {
        long[] ids = new long[batch * seq];
        long[] mask = new long[batch * seq];
        Random random = new Random(1);
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 1000 + random.nextInt(20000);
            mask[i] = 1;
        }
        long[] shape = {batch, seq};
        Map<String, OnnxTensor> inputs = new HashMap<>();
        inputs.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape));
        inputs.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape));
        if (session.getInputNames().contains("token_type_ids")) {
            inputs.put("token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(new long[batch * seq]), shape));
        }
        return inputs;
    }

    private static String cells(double[] millis) {
        return String.join(" | ", Arrays.stream(millis).mapToObj(m -> String.format("%.2f", m)).toList());
    }

    /** {@code work}'s result, computed on a big stack ({@link TestData#onBigStack}). */
    private static double[][] onBigStack(java.util.function.Supplier<double[][]> work) throws InterruptedException {
        double[][][] out = new double[1][][];
        TestData.onBigStack(() -> out[0] = work.get());
        return out[0];
    }

    private static void write(String file, String report) throws java.io.IOException {
        System.out.println(report);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of(file), report);
    }
}
