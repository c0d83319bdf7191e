package io.embedder.core.runtime;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The operator fusions the limits ask for ({@link GeluFusion}, then {@link LayerNormFusion}), applied to a graph one
 * after the other.
 */
final class GraphFusions {

    private GraphFusions() {}

    /**
     * A graph with operators fused.
     *
     * @param what what was fused, for the log: "12 GELUs and 24 LayerNorms"
     */
    record Applied(byte[] model, String what) {}

    /**
     * {@code model} with the fusions {@code limits} ask for; null when none applies. With {@code weightsFile} (the name
     * of the file {@code model} is, whole) the result's initializers refer to their bytes in that file.
     *
     * @throws IllegalArgumentException when the bytes are not a model
     */
    static Applied apply(ByteBuffer model, String weightsFile, LoadedModel.Limits limits) {
        byte[] current = null;
        List<String> what = new ArrayList<>();
        if (limits.fuseGelu()) {
            NodeFusion.Fused gelus = GeluFusion.rewrite(model.duplicate(), weightsFile);
            if (gelus.fused() > 0) {
                current = gelus.model();
                what.add(gelus.fused() + " GELUs");
            }
        }
        if (limits.fuseLayerNorm()) {
            NodeFusion.Fused norms = current == null ? LayerNormFusion.rewrite(model.duplicate(), weightsFile)
                : LayerNormFusion.rewrite(ByteBuffer.wrap(current), null);
            if (norms.fused() > 0) {
                current = norms.model();
                what.add(norms.fused() + " LayerNorms");
            }
        }
        return current == null ? null : new Applied(current, String.join(" and ", what));
    }
}
