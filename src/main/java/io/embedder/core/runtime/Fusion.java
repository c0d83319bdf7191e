package io.embedder.core.runtime;

import java.nio.ByteBuffer;
import java.util.function.BiFunction;

/**
 * The operator fusions the loader may apply to a model's graphs, in the order it applies them; each replaces chains of
 * nodes that PyTorch exports by one ONNX Runtime contrib operator computing the same function in fewer passes.
 */
public enum Fusion {
    /** Each exact GELU (five element-wise nodes) as one {@code Gelu}: {@link GeluFusion}. */
    GELU("GELUs", GeluFusion::rewrite),
    /** Each residual Add and the LayerNorm after it (ten nodes) as one {@code SkipLayerNormalization}: {@link LayerNormFusion}. */
    LAYER_NORM("LayerNorms", LayerNormFusion::rewrite),
    /** Each matrix product scaled by a constant (the attention scores) as one {@code FusedMatMul}: {@link MatMulScaleFusion}. */
    MATMUL_SCALE("scaled MatMuls", MatMulScaleFusion::rewrite);

    private final String fused;
    private final BiFunction<ByteBuffer, String, NodeFusion.Fused> rewrite;

    Fusion(String fused, BiFunction<ByteBuffer, String, NodeFusion.Fused> rewrite) {
        this.fused = fused;
        this.rewrite = rewrite;
    }

    /** What the log calls the chains this fusion replaces ("GELUs"). */
    String fused() {
        return fused;
    }

    /** The model rewritten, initializers referring into {@code weightsFile} when it is given (see {@link GeluFusion#rewrite}). */
    NodeFusion.Fused rewrite(ByteBuffer model, String weightsFile) {
        return rewrite.apply(model, weightsFile);
    }
}
