package io.embedder.core.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.embedder.core.TestData;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Where a run of bge-small-en-v1.5's dense-embedding graphs spends its time, by operator type: ONNX Runtime's own
 * profiler on the first-token graph, padded and {@link UnpaddedGraph unpadded}, one intra-op thread, batches of titles
 * as the scheduler cuts them and one abstract. Not a test: {@code mvn -Pall-models test -Dtest=OpProfileBench
 * -Dbench=true [-Dbench.runs=30]}; writes target/bench-op-profile.md.
 */
class OpProfileBench {

    private static final String MODEL = "bge-small-en-v1.5";
    private static final String OUTPUT = "last_hidden_state";
    private static final Pattern OP = Pattern.compile("\"op_name\"\\s*:\\s*\"([^\"]+)\"");
    private static final Pattern DUR = Pattern.compile("\"dur\"\\s*:\\s*(\\d+)");
    private static final Pattern NAME = Pattern.compile("\"name\"\\s*:\\s*\"([^\"]+)\"");

    @Test
    void profile() throws Exception {
        assumeTrue(Boolean.getBoolean("bench"), "a benchmark: run with -Dbench=true");
        TestData.assumeModel(MODEL);
        Path onnx = TestData.modelsDir().resolve(MODEL).resolve("model.onnx");
        Map<String, byte[]> graphs = new LinkedHashMap<>();
        graphs.put("first-token, padded", ((FirstTokenGraph.Rewritten) FirstTokenGraph.rewrite(onnx, OUTPUT)).model());
        UnpaddedGraph.Rewritten kept = (UnpaddedGraph.Rewritten) UnpaddedGraph.rewrite(onnx, OUTPUT, true);
        graphs.put("first-token, unpadded", ((FirstTokenGraph.Rewritten) FirstTokenGraph.rewrite(ByteBuffer.wrap(kept.model()), OUTPUT)).model());
        int runs = Integer.getInteger("bench.runs", 30);
        int[][] shapes = {{7, 13}, {14, 16}, {1, 160}};
        StringBuilder report = new StringBuilder();
        TestData.onBigStack(() -> {
            try {
                for (Map.Entry<String, byte[]> graph : graphs.entrySet()) {
                    for (int[] shape : shapes) {
                        report.append(profile(graph.getKey(), graph.getValue(), onnx, shape[0], shape[1], runs));
                    }
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        System.out.println(report);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/bench-op-profile.md"), report.toString());
    }

    private static String profile(String what, byte[] model, Path onnx, int batch, int seq, int runs) throws Exception {
        Path dir = Files.createDirectories(Path.of("target/op-profile"));
        String file;
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(1);
            options.setInterOpNumThreads(1);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.valueOf(System.getProperty("bench.level", "BASIC_OPT")));
            if (!System.getProperty("bench.disable", "").isEmpty()) {
                options.addConfigEntry("optimization.disable_specified_optimizers", System.getProperty("bench.disable"));
            }
            options.addConfigEntry("session.model_external_initializers_file_folder_path", onnx.toAbsolutePath().getParent().toString());
            options.enableProfiling(dir.resolve("p").toString());
            try (OrtSession session = OrtEnvironment.getEnvironment().createSession(model, options)) {
                Map<String, OnnxTensor> inputs = inputs(batch, seq);
                for (int r = 0; r < runs; r++) {
                    session.run(inputs).close();
                }
                inputs.values().forEach(OnnxTensor::close);
                file = session.endProfiling();
            }
        }
        String json = Files.readString(Path.of(file));
        Files.delete(Path.of(file));
        Map<String, long[]> byOp = new TreeMap<>(); // op -> {micros, events}
        long total = 0;
        long runMicros = 0;
        for (String event : json.split("\\{\"cat\"")) {
            Matcher name = NAME.matcher(event);
            Matcher dur = DUR.matcher(event);
            if (!name.find() || !dur.find()) {
                continue;
            }
            long micros = Long.parseLong(dur.group(1));
            if (name.group(1).equals("model_run")) {
                runMicros += micros;
            }
            if (!name.group(1).endsWith("_kernel_time")) {
                continue;
            }
            Matcher op = OP.matcher(event);
            String opName = op.find() ? op.group(1) : "?";
            long[] slot = byOp.computeIfAbsent(opName, k -> new long[2]);
            slot[0] += micros;
            slot[1]++;
            total += micros;
        }
        StringBuilder out = new StringBuilder(String.format("%n%s, %d × %d: model_run %.2f ms per run, kernels %.2f ms per run (%d nodes per run)%n",
            what, batch, seq, runMicros / 1e3 / runs, total / 1e3 / runs, Arrays.stream(byOp.values().toArray(new long[0][])).mapToLong(s -> s[1]).sum() / runs));
        final long all = total;
        byOp.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0])).forEach(e ->
            out.append(String.format("| %s | %.3f ms | %.1f%% | %d |%n", e.getKey(), e.getValue()[0] / 1e3 / runs, 100.0 * e.getValue()[0] / all,
                e.getValue()[1] / runs)));
        return out.toString();
    }

    private static Map<String, OnnxTensor> inputs(int batch, int seq) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] ids = new long[batch * seq];
        long[] mask = new long[batch * seq];
        Random random = new Random(2);
        for (int b = 0; b < batch; b++) {
            int length = b == 0 ? seq : Math.max(3, seq - 1 - random.nextInt(4));
            for (int t = 0; t < length; t++) {
                ids[b * seq + t] = 1000 + random.nextInt(20000);
                mask[b * seq + t] = 1;
            }
        }
        long[] shape = {batch, seq};
        Map<String, OnnxTensor> inputs = new HashMap<>();
        inputs.put(OnnxEncoder.INPUT_IDS, OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape));
        inputs.put(OnnxEncoder.ATTENTION_MASK, OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape));
        inputs.put(OnnxEncoder.TOKEN_TYPE_IDS, OnnxTensor.createTensor(env, LongBuffer.wrap(new long[batch * seq]), shape));
        return inputs;
    }
}
