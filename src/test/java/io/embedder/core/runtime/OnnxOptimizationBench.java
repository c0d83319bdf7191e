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
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * ONNX Runtime's graph optimization levels on the bundled models: one session per level, one intra-op thread, the
 * same inputs run on each in turn (order alternating), median CPU time of the thread per run, for batch shapes of
 * short texts and of abstracts. Not a test: runs with {@code -Dbench=true}
 * ({@code mvn -Pall-models test -Dtest=OnnxOptimizationBench -Dbench=true [-Dbench.runs=15]}, add {@code -Pquantized}
 * for the int8 variant); writes target/bench-onnx-optimization.md.
 */
class OnnxOptimizationBench {

    private static final List<OrtSession.SessionOptions.OptLevel> LEVELS = List.of(OrtSession.SessionOptions.OptLevel.ALL_OPT,
        OrtSession.SessionOptions.OptLevel.EXTENDED_OPT, OrtSession.SessionOptions.OptLevel.BASIC_OPT);
    /** [batch, sequence]: a batch of short texts as the scheduler cuts them, a bigger one, one abstract, two 128-token texts. */
    private static final int[][] SHAPES = {{6, 13}, {12, 17}, {1, 168}, {2, 128}};

    @Test
    void optimizationLevels() throws Exception {
        assumeTrue(Boolean.getBoolean("bench"), "a benchmark: run with -Dbench=true");
        int runs = Integer.getInteger("bench.runs", 15);
        StringBuilder report = new StringBuilder("| model | batch × tokens | " + String.join(" | ", LEVELS.stream()
            .map(l -> l + " ms CPU").toList()) + " | basic ÷ all (speed-up) |\n| --- | --- |" + " --- |".repeat(LEVELS.size() + 1) + "\n");
        for (String model : List.of("bge-small-en-v1.5", "bge-small-en-v1.5-q", "all-MiniLM-L6-v2", "e5-small-v2")) {
            Path onnx = TestData.modelsDir().resolve(model).resolve("model.onnx");
            if (!Files.isRegularFile(onnx)) {
                continue;
            }
            String[] rows = new String[1];
            Thread t = new Thread(null, () -> rows[0] = measure(model, onnx, runs), "bench-native", 16L << 20);
            t.start();
            t.join();
            report.append(rows[0]);
        }
        System.out.println(report);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/bench-onnx-optimization.md"), report.toString());
    }

    private static String measure(String model, Path onnx, int runs) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<OrtSession> sessions = new ArrayList<>();
        StringBuilder rows = new StringBuilder();
        try {
            for (OrtSession.SessionOptions.OptLevel level : LEVELS) {
                try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
                    options.setIntraOpNumThreads(1);
                    options.setInterOpNumThreads(1);
                    options.setOptimizationLevel(level);
                    sessions.add(env.createSession(onnx.toString(), options));
                }
            }
            ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
            for (int[] shape : SHAPES) {
                Map<String, OnnxTensor> inputs = inputs(env, sessions.get(0), shape[0], shape[1]);
                for (OrtSession s : sessions) {
                    for (int w = 0; w < 3; w++) {
                        s.run(inputs).close();
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
                double[] medians = Arrays.stream(nanos).mapToDouble(n -> {
                    long[] sorted = n.clone();
                    Arrays.sort(sorted);
                    return sorted[sorted.length / 2] / 1e6;
                }).toArray();
                rows.append(String.format("| %s | %d × %d | %s | %.3f× |%n", model, shape[0], shape[1],
                    String.join(" | ", Arrays.stream(medians).mapToObj(m -> String.format("%.2f", m)).toList()), medians[0] / medians[LEVELS.size() - 1]));
                inputs.values().forEach(OnnxTensor::close);
            }
            return rows.toString();
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
}
