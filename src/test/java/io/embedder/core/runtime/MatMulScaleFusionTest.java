package io.embedder.core.runtime;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The scaled-product fusion on hand-built graphs: its one node computes the hand-computed values; other shapes are
 * left alone. The real graphs: {@link GraphFusionsTest}.
 */
class MatMulScaleFusionTest {

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
}
