package io.embedder.core.runtime;

import io.embedder.core.TestData;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each {@link Fusion} on the bundled models' real graphs: it replaces the expected number of chains (one or two per
 * layer), the weights stay in the file, and the token states are the original's; the loader applies them all by default
 * (full, first-token and unpadded graphs) and embeds as without each of them.
 */
class GraphFusionsTest {

    private static final List<String> MODELS = List.of("bge-small-en-v1.5", "all-MiniLM-L6-v2");

    @BeforeAll
    static void djl() {
        DjlEnvironment.configure(Path.of("target/djl-cache"));
    }

    @ParameterizedTest
    @CsvSource({
        "GELU, bge-small-en-v1.5, 12, Gelu, Erf", "GELU, all-MiniLM-L6-v2, 6, Gelu, Erf", "GELU, e5-small-v2, 12, Gelu, Erf",
        "LAYER_NORM, bge-small-en-v1.5, 24, SkipLayerNormalization, Pow", "LAYER_NORM, all-MiniLM-L6-v2, 12, SkipLayerNormalization, Pow",
        "LAYER_NORM, e5-small-v2, 24, SkipLayerNormalization, Pow",
        "MATMUL_SCALE, bge-small-en-v1.5, 12, FusedMatMul, Div", "MATMUL_SCALE, all-MiniLM-L6-v2, 6, FusedMatMul, Div",
        "MATMUL_SCALE, e5-small-v2, 12, FusedMatMul, Div"})
    void everyChainIsFusedAndTokenStatesAreTheOriginals(Fusion fusion, String model, int chains, String fusedOp, String goneOp)
        throws Exception {
        TestData.assumeModel(model);
        NodeFusion.Fused fused = FusedGraphs.rewriteFile(model, fusion::rewrite);
        assertEquals(chains, fused.fused());
        assertTrue(fused.model().length < 1 << 20, "the weights stay in the file: " + fused.model().length + " bytes");
        OnnxGraph graph = OnnxGraph.parse(ByteBuffer.wrap(fused.model()));
        assertEquals(chains, graph.nodes().stream().filter(n -> n.opType().equals(fusedOp)).count());
        long left = graph.nodes().stream().filter(n -> n.opType().equals(goneOp)).count();
        long expected = switch (fusion) {
            case GELU -> 0;
            case LAYER_NORM -> 1; // the embeddings' LayerNorm
            case MATMUL_SCALE -> 3 * chains + 1; // a layer's two LayerNorms and its GELU, and the embeddings' LayerNorm
        };
        assertEquals(expected, left, goneOp + " nodes left");
        FusedGraphs.assertSameTokenStates(model, fused.model());
    }

    @Test
    void loaderFusesByDefaultAndEmbedsAsWithoutEachFusion() throws Exception {
        MODELS.forEach(TestData::assumeModel);
        LoadedModel.Limits limits = new LoadedModel.Limits(8, 4096, 1, Long.MAX_VALUE, 1);
        assertEquals(EnumSet.allOf(Fusion.class), limits.fusions(), "all on by default");
        assertEquals(EnumSet.allOf(Fusion.class), LoadedModel.Limits.defaults().fusions(), "all on by default");
        // bge: its first-token graph, padded and unpadded; MiniLM (mean pooling): its full graph from the file, and unpadded
        for (LoadedModel.Limits graphs : List.of(limits, limits.withUnpad(true))) {
            FusedGraphs.assertEmbedAlike(MODELS, graphs, graphs.withFusions(Set.of()));
            for (Fusion fusion : Fusion.values()) {
                FusedGraphs.assertEmbedAlike(MODELS, graphs.withFusions(Set.of(fusion)), graphs.withFusions(Set.of()));
            }
        }
    }
}
