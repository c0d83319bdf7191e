package io.embedder.core.runtime;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** The operator {@link Fusion fusions} the limits ask for, applied to a graph one after the other. */
final class GraphFusions {

    private GraphFusions() {}

    /**
     * A graph with operators fused.
     *
     * @param what what was fused, for the log: "12 GELUs and 24 LayerNorms"
     */
    record Applied(byte[] model, String what) {}

    /**
     * {@code model} with {@code fusions} applied; null when none applies. With {@code weightsFile} (the name of the file
     * {@code model} is, whole) the result's initializers refer to their bytes in that file.
     *
     * @throws IllegalArgumentException when the bytes are not a model
     */
    static Applied apply(ByteBuffer model, String weightsFile, Set<Fusion> fusions) {
        byte[] current = null;
        List<String> what = new ArrayList<>();
        for (Fusion fusion : Fusion.values()) {
            if (!fusions.contains(fusion)) {
                continue;
            }
            NodeFusion.Fused fused = current == null ? fusion.rewrite(model.duplicate(), weightsFile) : fusion.rewrite(ByteBuffer.wrap(current), null);
            if (fused.fused() > 0) {
                current = fused.model();
                what.add(fused.fused() + " " + fusion.fused());
            }
        }
        return current == null ? null : new Applied(current, String.join(" and ", what));
    }
}
