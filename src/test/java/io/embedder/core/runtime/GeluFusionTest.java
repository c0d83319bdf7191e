package io.embedder.core.runtime;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The GELU fusion on hand-built graphs: its one node computes the hand-computed values; a chain that is not exactly
 * GELU is left alone. The real graphs: {@link GraphFusionsTest}.
 */
class GeluFusionTest {

    @Test
    void fusedGeluGivesTheHandComputedValues() throws Exception {
        NodeFusion.Fused fused = GeluFusion.rewrite(GraphEdits.geluModel(0.5f, false), null);
        assertEquals(1, fused.fused());
        OnnxGraph graph = OnnxGraph.parse(ByteBuffer.wrap(fused.model()));
        assertEquals(List.of("Gelu"), graph.nodes().stream().map(OnnxGraph.Node::opType).toList(), "the five nodes and their constants are gone");
        assertEquals(NodeFusion.CONTRIB_DOMAIN, graph.nodes().get(0).domain());
        assertEquals(List.of("x"), graph.nodes().get(0).inputs());
        assertEquals(List.of("y"), graph.nodes().get(0).outputs());
        // gelu(x) = x Φ(x): Φ(-1) = 0.15865525, Φ(1) = 0.84134475, Φ(2) = 0.97724987, Φ(-3) = 0.0013498980
        float[] x = {-1f, 0f, 1f, 2f, -3f, 0.5f, 3f, 10f};
        float[] expected = {-0.15865525f, 0f, 0.84134475f, 1.9544997f, -0.0040496940f, 0.34573123f, 2.9959502f, 10f};
        float[] plain = FusedGraphs.run(GraphEdits.geluModel(0.5f, false).array(), Map.of("x", x));
        float[] actual = FusedGraphs.run(fused.model(), Map.of("x", x));
        assertArrayEquals(expected, plain, 2e-6f, "the graph as PyTorch exports it");
        assertArrayEquals(expected, actual, 2e-6f, "the fused graph");
    }

    @Test
    void chainsThatAreNotExactlyGeluAreLeftAlone() {
        assertEquals(0, GeluFusion.rewrite(GraphEdits.geluModel(0.25f, false), null).fused(), "x/4 (1 + erf(x/√2)) is not GELU");
        assertNull(GeluFusion.rewrite(GraphEdits.geluModel(0.25f, false), null).model());
        assertEquals(0, GeluFusion.rewrite(GraphEdits.geluModel(0.5f, true), null).fused(), "the Erf's output is read elsewhere too");
        assertEquals(0, GeluFusion.rewrite(GraphEdits.reluModel(), null).fused());
    }
}
