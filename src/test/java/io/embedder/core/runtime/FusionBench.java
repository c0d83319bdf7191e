package io.embedder.core.runtime;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.embedder.core.TestData;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What the operator fusions save a run of bge-small-en-v1.5's dense-embedding graph (the first-token graph): the graph
 * as rewritten, with its GELUs fused ({@link GeluFusion}), and with its residual LayerNorms fused too
 * ({@link LayerNormFusion}); batches of titles as the scheduler cuts them and abstracts, on one ONNX Runtime thread, the
 * three graphs in turn (order reversing each run), median CPU time of the thread per run. Not a test: {@code mvn -Pall-models test
 * -Dtest=FusionBench -Dbench=true [-Dbench.runs=41]}; writes target/bench-fusion.md.
 */
class FusionBench {

    private static final String MODEL = "bge-small-en-v1.5";

    @Test
    void fusedAgainstPlain() throws Exception {
        assumeTrue(Boolean.getBoolean("bench"), "a benchmark: run with -Dbench=true");
        TestData.assumeModel(MODEL);
        Path onnx = TestData.modelsDir().resolve(MODEL).resolve("model.onnx");
        byte[] plain = ((FirstTokenGraph.Rewritten) FirstTokenGraph.rewrite(onnx, "last_hidden_state")).model();
        byte[] gelus = GeluFusion.rewrite(ByteBuffer.wrap(plain), null).model();
        byte[] both = LayerNormFusion.rewrite(ByteBuffer.wrap(gelus), null).model();
        int runs = Integer.getInteger("bench.runs", 41);
        // batch, seq, typical real length (0: every text fills seq)
        int[][] shapes = {{7, 13, 12}, {12, 16, 12}, {21, 13, 12}, {1, 12, 0}, {1, 160, 0}, {2, 128, 0}};
        StringBuilder report = new StringBuilder("| bge-small-en-v1.5, first-token graph, batch × seq | plain, ms CPU | fused GELU, ms CPU "
            + "| fused GELU and LayerNorm, ms CPU | GELU ÷ plain | both ÷ GELU | both ÷ plain |\n| --- | --- | --- | --- | --- | --- | --- |\n");
        TestData.onBigStack(() -> {
            try (OrtSession a = UnpaddedGraphBench.session(plain, onnx); OrtSession b = UnpaddedGraphBench.session(gelus, onnx);
                 OrtSession c = UnpaddedGraphBench.session(both, onnx)) {
                for (int[] shape : shapes) {
                    long[] mask = UnpaddedGraphBench.mask(shape[0], shape[1], shape[2]);
                    double[] ms = UnpaddedGraphBench.medians(new OrtSession[] {a, b, c}, shape[0], shape[1], mask, runs);
                    report.append(String.format("| %d × %d | %.2f | %.2f | %.2f | %.3f× | %.3f× | %.3f× |%n", shape[0], shape[1], ms[0], ms[1], ms[2],
                        ms[0] / ms[1], ms[1] / ms[2], ms[0] / ms[2]));
                }
            } catch (OrtException e) {
                throw new IllegalStateException(e);
            }
        });
        System.out.println(report);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/bench-fusion.md"), report.toString());
    }
}
