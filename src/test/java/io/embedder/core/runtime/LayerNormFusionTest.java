package io.embedder.core.runtime;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The residual LayerNorm fusion on hand-built graphs: its one node computes the hand-computed values of a post-LN
 * block; other shapes are left alone. The real graphs: {@link GraphFusionsTest}.
 */
class LayerNormFusionTest {

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
}
