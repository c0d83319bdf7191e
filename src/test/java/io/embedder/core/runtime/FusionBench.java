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
 * as rewritten, then with each {@link Fusion} added in turn (GELUs, residual LayerNorms, scaled attention products);
 * batches of titles as the scheduler cuts them and abstracts, on one ONNX Runtime thread, the graphs in turn (order
 * reversed every other run), median CPU time of the thread per run. Not a test: {@code mvn -Pall-models test
 * -Dtest=FusionBench -Dbench=true [-Dbench.runs=41]}; writes target/bench-fusion.md.
 */
class FusionBench {

    private static final String MODEL = "bge-small-en-v1.5";

    @Test
    void eachFusionAgainstTheGraphBefore() throws Exception {
        assumeTrue(Boolean.getBoolean("bench"), "a benchmark: run with -Dbench=true");
        TestData.assumeModel(MODEL);
        Path onnx = TestData.modelsDir().resolve(MODEL).resolve("model.onnx");
        Fusion[] fusions = Fusion.values();
        byte[][] graphs = new byte[fusions.length + 1][];
        graphs[0] = ((FirstTokenGraph.Rewritten) FirstTokenGraph.rewrite(onnx, "last_hidden_state")).model();
        StringBuilder header = new StringBuilder("| bge-small-en-v1.5, first-token graph, batch × seq | plain, ms CPU");
        StringBuilder ratios = new StringBuilder();
        for (int f = 0; f < fusions.length; f++) {
            graphs[f + 1] = fusions[f].rewrite(ByteBuffer.wrap(graphs[f]), null).model();
            header.append(" | + ").append(fusions[f].fused()).append(", ms CPU");
            ratios.append(" | ").append(fusions[f].fused()).append(": speed-up");
        }
        int runs = Integer.getInteger("bench.runs", 41);
        // batch, seq, typical real length (0: every text fills seq)
        int[][] shapes = {{7, 13, 12}, {12, 16, 12}, {21, 13, 12}, {1, 12, 0}, {1, 160, 0}, {2, 128, 0}};
        StringBuilder report = new StringBuilder(header).append(ratios).append(" | all: speed-up |\n|")
            .append(" --- |".repeat(2 * fusions.length + 3)).append('\n');
        TestData.onBigStack(() -> {
            OrtSession[] sessions = new OrtSession[graphs.length];
            try {
                for (int g = 0; g < graphs.length; g++) {
                    sessions[g] = UnpaddedGraphBench.session(graphs[g], onnx);
                }
                for (int[] shape : shapes) {
                    long[] mask = UnpaddedGraphBench.mask(shape[0], shape[1], shape[2]);
                    double[] ms = UnpaddedGraphBench.medians(sessions, shape[0], shape[1], mask, runs);
                    report.append(String.format("| %d × %d", shape[0], shape[1]));
                    for (double m : ms) {
                        report.append(String.format(" | %.2f", m));
                    }
                    for (int g = 1; g < ms.length; g++) {
                        report.append(String.format(" | %.3f×", ms[g - 1] / ms[g]));
                    }
                    report.append(String.format(" | %.3f× |%n", ms[0] / ms[ms.length - 1]));
                }
            } catch (OrtException e) {
                throw new IllegalStateException(e);
            } finally {
                for (OrtSession s : sessions) {
                    if (s != null) {
                        try {
                            s.close();
                        } catch (OrtException e) {
                            throw new IllegalStateException(e);
                        }
                    }
                }
            }
        });
        System.out.println(report);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/bench-fusion.md"), report.toString());
    }
}
