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

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The scaled-product fusion: on hand-built products its one node computes the hand-computed values; other shapes are
 * left alone; on the real graphs each layer's attention scores are fused and the token states are the original's; the
 * loader fuses by default and embeds as without it.
 */
class MatMulScaleFusionTest {

    @BeforeAll
    static void djl() {
        DjlEnvironment.configure(Path.of("target/djl-cache"));
    }

    @Test
    void fusedProductGivesTheHandComputedValues() throws Exception {
        // x · diag(1, 2, 3, 4) = [1, 4, 9, 16] and [-2, 1, 0, 2]
        Map<String, float[]> x = Map.of("x", new float[] {1, 2, 3, 4, -2, 0.5f, 0, 0.5f});
        for (String op : List.of("Div", "Mul")) {
            float c = op.equals("Div") ? 4f : 0.25f;
            NodeFusion.Fused fused = MatMulScaleFusion.rewrite(GraphEdits.scaledMatMulModel(op, c, false, false), null);
            assertEquals(1, fused.fused(), op);
            OnnxGraph graph = OnnxGraph.parse(ByteBuffer.wrap(fused.model()));
            assertEquals(List.of("FusedMatMul"), graph.nodes().stream().map(OnnxGraph.Node::opType).toList(), op + ": the constant goes too");
            assertEquals(NodeFusion.CONTRIB_DOMAIN, graph.nodes().get(0).domain());
            assertEquals(List.of("x", "w"), graph.nodes().get(0).inputs());
            assertEquals(List.of("y"), graph.nodes().get(0).outputs());
            float[] expected = {0.25f, 1f, 2.25f, 4f, -0.5f, 0.25f, 0f, 0.5f};
            assertArrayEquals(expected, FusedGraphs.run(GraphEdits.scaledMatMulModel(op, c, false, false).array(), x), 0f, op + ": as exported");
            assertArrayEquals(expected, FusedGraphs.run(fused.model(), x), 0f, op + ": fused");
        }
    }

    @Test
    void otherShapesAreLeftAlone() {
        assertEquals(0, MatMulScaleFusion.rewrite(GraphEdits.scaledMatMulModel("Div", 4f, true, false), null).fused(), "the product is read twice");
        assertEquals(0, MatMulScaleFusion.rewrite(GraphEdits.scaledMatMulModel("Div", 4f, false, true), null).fused(), "4 divided by the product");
        assertEquals(0, MatMulScaleFusion.rewrite(GraphEdits.scaledMatMulModel("Div", 0f, false, false), null).fused(), "a division by 0");
        assertEquals(0, MatMulScaleFusion.rewrite(GraphEdits.scaledMatMulModel("Sub", 4f, false, false), null).fused(), "no scaling");
    }

    @ParameterizedTest
    @CsvSource({"bge-small-en-v1.5,12", "all-MiniLM-L6-v2,6", "e5-small-v2,12"})
    void eachLayersAttentionScaleIsFusedAndTokenStatesAreTheOriginals(String model, int layers) throws Exception {
        TestData.assumeModel(model);
        NodeFusion.Fused fused = FusedGraphs.rewriteFile(model, MatMulScaleFusion::rewrite);
        assertEquals(layers, fused.fused());
        assertTrue(fused.model().length < 1 << 20, "the weights stay in the file: " + fused.model().length + " bytes");
        OnnxGraph graph = OnnxGraph.parse(ByteBuffer.wrap(fused.model()));
        assertEquals(layers, graph.nodes().stream().filter(n -> n.opType().equals("FusedMatMul")).count());
        FusedGraphs.assertSameTokenStates(model, fused.model());
    }

    @Test
    void loaderFusesByDefaultAndEmbedsAsWithout() throws Exception {
        TestData.assumeModel("bge-small-en-v1.5");
        TestData.assumeModel("all-MiniLM-L6-v2");
        LoadedModel.Limits limits = new LoadedModel.Limits(8, 4096, 1, Long.MAX_VALUE, 1);
        assertTrue(LoadedModel.Limits.defaults().fusions().contains(Fusion.MATMUL_SCALE), "on by default");
        for (LoadedModel.Limits graphs : List.of(limits, limits.withUnpad(true))) {
            FusedGraphs.assertEmbedAlike(List.of("bge-small-en-v1.5", "all-MiniLM-L6-v2"), graphs, graphs.without(Fusion.MATMUL_SCALE));
        }
    }
}
