package io.embedder.core.runtime;

import io.embedder.core.TestData;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The residual LayerNorm fusion: on a hand-built post-LN block its one node computes the hand-computed values; other
 * shapes are left alone; on the real graphs every residual LayerNorm is fused and the token states are the original's;
 * the loader fuses by default (full, first-token and unpadded graphs) and embeds as without it.
 */
class LayerNormFusionTest {

    @BeforeAll
    static void djl() {
        DjlEnvironment.configure(Path.of("target/djl-cache"));
    }

    @Test
    void fusedBlockGivesTheHandComputedValues() throws Exception {
        NodeFusion.Fused fused = LayerNormFusion.rewrite(GraphEdits.layerNormModel(2f, true), null);
        assertEquals(1, fused.fused());
        OnnxGraph graph = OnnxGraph.parse(ByteBuffer.wrap(fused.model()));
        List<String> ops = graph.nodes().stream().map(OnnxGraph.Node::opType).toList();
        assertEquals(List.of("ReduceMean", "Sub", "Constant", "Pow", "ReduceMean", "Constant", "Add", "Sqrt", "Div", "Mul", "Add", "MatMul", "Add",
            "SkipLayerNormalization"), ops, "r's own LayerNorm and the bias Add stay; the residual Add and the second LayerNorm are one node");
        OnnxGraph.Node skip = graph.nodes().get(ops.size() - 1);
        assertEquals(NodeFusion.CONTRIB_DOMAIN, skip.domain());
        assertEquals(List.of("h", "r1", "g2", "b2"), skip.inputs(), "input, skip, gamma, beta");
        assertEquals(List.of("y"), skip.outputs());
        // r = [-1, -1, 1, 1] → r1 = r; [2, 2, 2, 2] → r1 = 0. s = x + [0, 1, 0, 2] + r1 = [1, 0, 2, 4] and [1, 2, 1, 3]:
        // means 1.75, variances 2.1875 and 0.6875; y = (s - mean) / √variance · [1, 2, ½, 1] + [0, 0, 0, 1]
        Map<String, float[]> inputs = Map.of("x", new float[] {2, 0, 1, 1, 1, 1, 1, 1}, "r", new float[] {-1, -1, 1, 1, 2, 2, 2, 2});
        float[] expected = {-0.50709255f, -2.36643191f, 0.08451543f, 2.52127766f, -0.90453403f, 0.60302269f, -0.45226702f, 2.50755672f};
        assertArrayEquals(expected, FusedGraphs.run(GraphEdits.layerNormModel(2f, true).array(), inputs), 2e-6f, "the graph as PyTorch exports it");
        assertArrayEquals(expected, FusedGraphs.run(fused.model(), inputs), 2e-6f, "the fused graph");
    }

    @Test
    void otherShapesAreLeftAlone() {
        NodeFusion.Fused cubes = LayerNormFusion.rewrite(GraphEdits.layerNormModel(3f, true), null);
        assertEquals(0, cubes.fused(), "a mean of cubes is no variance");
        assertNull(cubes.model());
        assertEquals(0, LayerNormFusion.rewrite(GraphEdits.layerNormModel(2f, false), null).fused(),
            "the residual operand is no LayerNorm's output (as in the embeddings' sum)");
        assertEquals(0, LayerNormFusion.rewrite(GraphEdits.geluModel(0.5f, false), null).fused());
    }

    @ParameterizedTest
    @CsvSource({"bge-small-en-v1.5,24", "all-MiniLM-L6-v2,12", "e5-small-v2,24"})
    void everyResidualLayerNormIsFusedAndTokenStatesAreTheOriginals(String model, int residuals) throws Exception {
        TestData.assumeModel(model);
        NodeFusion.Fused fused = FusedGraphs.rewriteFile(model, LayerNormFusion::rewrite);
        assertEquals(residuals, fused.fused());
        assertTrue(fused.model().length < 1 << 20, "the weights stay in the file: " + fused.model().length + " bytes");
        OnnxGraph graph = OnnxGraph.parse(ByteBuffer.wrap(fused.model()));
        assertEquals(2, graph.nodes().stream().filter(n -> n.opType().equals("ReduceMean")).count(), "the embeddings' LayerNorm stays");
        assertEquals(residuals, graph.nodes().stream().filter(n -> n.opType().equals("SkipLayerNormalization")).count());
        FusedGraphs.assertSameTokenStates(model, fused.model());
    }

    @Test
    void loaderFusesByDefaultAndEmbedsAsWithout() throws Exception {
        TestData.assumeModel("bge-small-en-v1.5");
        TestData.assumeModel("all-MiniLM-L6-v2");
        LoadedModel.Limits limits = new LoadedModel.Limits(8, 4096, 1, Long.MAX_VALUE, 1);
        assertTrue(limits.fusions().contains(Fusion.LAYER_NORM), "on by default");
        assertTrue(LoadedModel.Limits.defaults().fusions().contains(Fusion.LAYER_NORM), "on by default");
        // bge: its first-token graph, padded and unpadded; MiniLM (mean pooling): its full graph from the file, and unpadded
        for (LoadedModel.Limits graphs : List.of(limits, limits.withUnpad(true))) {
            FusedGraphs.assertEmbedAlike(List.of("bge-small-en-v1.5", "all-MiniLM-L6-v2"), graphs,
                graphs.withFusions(Set.of()));
        }
    }
}
