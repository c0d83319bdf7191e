package io.embedder.core.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.embedder.core.TestData;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What padding costs bge-small-en-v1.5's dense-embedding graph (the first-token graph) with and without the
 * {@link UnpaddedGraph unpadding rewrite}: batches of {@code batch} texts padded to {@code seq} tokens, their real
 * lengths spread around {@code typical}, run on one ONNX Runtime thread through both graphs in turn (order
 * alternating), median CPU time of the thread per run, and per real token. Also one text of 1 to 256 tokens, for the
 * fixed cost of a run. Not a test: {@code mvn -Pall-models test -Dtest=UnpaddedGraphBench -Dbench=true
 * [-Dbench.runs=21]}; writes target/bench-unpadded-graph.md.
 */
class UnpaddedGraphBench {

    private static final String MODEL = "bge-small-en-v1.5";
    private static final String OUTPUT = "last_hidden_state";

    @Test
    void paddedAgainstUnpadded() throws Exception {
        assumeTrue(Boolean.getBoolean("bench"), "a benchmark: run with -Dbench=true");
        TestData.assumeModel(MODEL);
        Path onnx = TestData.modelsDir().resolve(MODEL).resolve("model.onnx");
        FirstTokenGraph.Rewritten padded = (FirstTokenGraph.Rewritten) FirstTokenGraph.rewrite(onnx, OUTPUT);
        UnpaddedGraph.Rewritten kept = (UnpaddedGraph.Rewritten) UnpaddedGraph.rewrite(onnx, OUTPUT, true);
        FirstTokenGraph.Rewritten unpadded = (FirstTokenGraph.Rewritten) FirstTokenGraph.rewrite(ByteBuffer.wrap(kept.model()), OUTPUT);
        int runs = Integer.getInteger("bench.runs", 21);
        // batch, seq, typical real length (0: every text fills seq)
        int[][] shapes = {{7, 13, 12}, {12, 16, 12}, {21, 13, 12}, {21, 16, 12}, {21, 24, 12}, {2, 128, 128}, {1, 160, 160}};
        StringBuilder report = new StringBuilder("| bge-small-en-v1.5, first-token graph, batch × seq | padded ÷ real tokens "
            + "| padded graph, ms CPU | unpadded graph, ms CPU | padded, ms per real token | unpadded, ms per real token | speed-up |\n"
            + "| --- | --- | --- | --- | --- | --- | --- |\n");
        TestData.onBigStack(() -> {
            try (OrtSession a = session(padded.model(), onnx); OrtSession b = session(unpadded.model(), onnx)) {
                for (int[] shape : shapes) {
                    long[] mask = mask(shape[0], shape[1], shape[2]);
                    long real = Arrays.stream(mask).sum();
                    double[] ms = medians(new OrtSession[] {a, b}, shape[0], shape[1], mask, runs);
                    report.append(String.format("| %d × %d | %.3f | %.2f | %.2f | %.3f | %.3f | %.3f× |%n", shape[0], shape[1],
                        (double) shape[0] * shape[1] / real, ms[0], ms[1], ms[0] / real, ms[1] / real, ms[0] / ms[1]));
                }
                report.append("\n| one text of n tokens, unpadded graph | ms CPU |\n| --- | --- |\n");
                for (int n : new int[] {1, 16, 64, 128, 256}) {
                    report.append(String.format("| %d | %.2f |%n", n, medians(new OrtSession[] {b}, 1, n, mask(1, n, 0), runs)[0]));
                }
            } catch (OrtException e) {
                throw new IllegalStateException(e);
            }
        });
        System.out.println(report);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/bench-unpadded-graph.md"), report.toString());
    }

    /** A right-padded mask: the first text fills {@code seq}, the others {@code typical} ± 3 tokens (all when 0). */
    static long[] mask(int batch, int seq, int typical) {
        Random random = new Random(1);
        long[] mask = new long[batch * seq];
        for (int b = 0; b < batch; b++) {
            int length = b == 0 || typical == 0 ? seq : Math.min(seq, Math.max(3, typical - 3 + random.nextInt(7)));
            Arrays.fill(mask, b * seq, b * seq + length, 1L);
        }
        return mask;
    }

    /** Median CPU ms per run of each session on the same inputs, sessions alternating their order. */
    static double[] medians(OrtSession[] sessions, int batch, int seq, long[] mask, int runs) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] ids = new long[batch * seq];
        Random random = new Random(2);
        for (int i = 0; i < ids.length; i++) {
            ids[i] = mask[i] == 1 ? 1000 + random.nextInt(20000) : 0;
        }
        long[] shape = {batch, seq};
        Map<String, OnnxTensor> inputs = new HashMap<>();
        inputs.put(OnnxEncoder.INPUT_IDS, OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape));
        inputs.put(OnnxEncoder.ATTENTION_MASK, OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape));
        inputs.put(OnnxEncoder.TOKEN_TYPE_IDS, OnnxTensor.createTensor(env, LongBuffer.wrap(new long[batch * seq]), shape));
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        try {
            for (OrtSession s : sessions) {
                for (int w = 0; w < 5; w++) {
                    s.run(inputs).close();
                }
            }
            long[][] nanos = new long[sessions.length][runs];
            for (int r = 0; r < runs; r++) {
                for (int k = 0; k < sessions.length; k++) {
                    int which = r % 2 == 0 ? k : sessions.length - 1 - k;
                    long before = cpu.getCurrentThreadCpuTime();
                    sessions[which].run(inputs).close();
                    nanos[which][r] = cpu.getCurrentThreadCpuTime() - before;
                }
            }
            return Arrays.stream(nanos).mapToDouble(n -> {
                long[] sorted = n.clone();
                Arrays.sort(sorted);
                return sorted[runs / 2] / 1e6;
            }).toArray();
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    static OrtSession session(byte[] model, Path onnx) throws OrtException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(1);
            options.setInterOpNumThreads(1);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.BASIC_OPT);
            options.addConfigEntry("session.model_external_initializers_file_folder_path", onnx.toAbsolutePath().getParent().toString());
            return OrtEnvironment.getEnvironment().createSession(model, options);
        }
    }
}
