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
 * ONNX Runtime session options beside the embedder's own (basic optimization level, one intra-op thread): flushing
 * denormals to zero, no memory pattern, no CPU arena. One session per variant on bge-small-en-v1.5, the same inputs
 * run on each in turn (order alternating), median CPU time of the thread per run, for the batch shapes of short texts
 * and one abstract. Not a test: {@code mvn -Pall-models test -Dtest=SessionOptionsBench -Dbench=true [-Dbench.runs=41]};
 * writes target/bench-session-options.md.
 */
class SessionOptionsBench {

    private interface Variant {
        void apply(OrtSession.SessionOptions options) throws OrtException;
    }

    /** [batch, sequence]: batches of titles as the scheduler cuts them, one abstract. */
    private static final int[][] SHAPES = {{7, 13}, {6, 15}, {1, 160}};

    @Test
    void sessionOptions() throws Exception {
        assumeTrue(Boolean.getBoolean("bench"), "a benchmark: run with -Dbench=true");
        Map<String, Variant> variants = new LinkedHashMap<>();
        variants.put("the embedder's", o -> {});
        variants.put("denormals as zero", o -> o.addConfigEntry("session.set_denormal_as_zero", "1"));
        variants.put("no memory pattern", o -> o.setMemoryPatternOptimization(false));
        variants.put("no CPU arena", o -> o.setCPUArenaAllocator(false));
        String[] report = new String[1];
        Thread t = new Thread(null, () -> report[0] = measure(variants, Integer.getInteger("bench.runs", 41)), "bench-native", 16L << 20);
        t.start();
        t.join();
        System.out.println(report[0]);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/bench-session-options.md"), report[0]);
    }

    private static String measure(Map<String, Variant> variants, int runs) {
        Path onnx = TestData.modelsDir().resolve("bge-small-en-v1.5").resolve("model.onnx");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<OrtSession> sessions = new ArrayList<>();
        StringBuilder out = new StringBuilder("| bge-small-en-v1.5, batch × tokens | " + String.join(" | ", variants.keySet().stream()
            .map(v -> v + ", ms CPU").toList()) + " |\n| --- |" + " --- |".repeat(variants.size()) + "\n");
        try {
            for (Variant v : variants.values()) {
                try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
                    options.setIntraOpNumThreads(1);
                    options.setInterOpNumThreads(1);
                    options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.BASIC_OPT);
                    v.apply(options);
                    sessions.add(env.createSession(onnx.toString(), options));
                }
            }
            ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
            for (int[] shape : SHAPES) {
                Map<String, OnnxTensor> inputs = inputs(env, shape[0], shape[1]);
                for (OrtSession s : sessions) {
                    for (int w = 0; w < 5; w++) {
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
                out.append("| ").append(shape[0]).append(" × ").append(shape[1]).append(" |");
                for (long[] n : nanos) {
                    long[] sorted = n.clone();
                    Arrays.sort(sorted);
                    out.append(String.format(" %.2f |", sorted[sorted.length / 2] / 1e6));
                }
                out.append('\n');
                inputs.values().forEach(OnnxTensor::close);
            }
            return out.toString();
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

    private static Map<String, OnnxTensor> inputs(OrtEnvironment env, int batch, int seq) throws OrtException {
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
        inputs.put("token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(new long[batch * seq]), shape));
        return inputs;
    }
}
