package io.embedder.core.runtime;

import io.embedder.core.runtime.OnnxGraph.Node;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/**
 * Fuses each matrix product scaled by a constant, {@code Div(MatMul(a, b), s)} or {@code Mul(MatMul(a, b), c)}, into one
 * ONNX Runtime {@code com.microsoft:FusedMatMul} node with {@code alpha} {@code 1/s} (or {@code c}), which scales inside
 * the product instead of in a second pass over its output. In a transformer's attention that output is the score
 * tensor {@code [batch, heads, seq, seq]}, the widest of the layer for long texts, divided by {@code √head_dim}. The
 * result is the same function; its rounding may differ in the last bit (a product by {@code 1/s} where the graph
 * divides by {@code s}).
 *
 * <p>Only this shape is fused: the MatMul's output read by the scaling node alone, the scale a finite, non-zero
 * Constant scalar (or one-element tensor) of the default domain.
 */
final class MatMulScaleFusion {

    private MatMulScaleFusion() {}

    /**
     * Fuses the scaled products of {@code model} (position to limit; not copied). Initializers are copied as they are,
     * or written as references into {@code weightsFile} as {@link GeluFusion#rewrite} does.
     *
     * @throws IllegalArgumentException when the bytes are not a model
     */
    static NodeFusion.Fused rewrite(ByteBuffer model, String weightsFile) {
        NodeFusion fusion = new NodeFusion(model);
        GraphIndex index = fusion.index();
        for (Node product : fusion.graph().nodes()) {
            if (!product.opType().equals("MatMul") || !product.isDefaultDomain() || product.inputs().size() != 2 || product.outputs().size() != 1) {
                continue;
            }
            String out = product.outputs().get(0);
            Node scale = index.consumers(out).size() == 1 ? index.consumers(out).get(0) : null;
            Optional<Float> alpha = scale == null ? Optional.empty() : alpha(index, scale, out);
            if (alpha.isEmpty() || !fusion.replaceable(List.of(product, scale))) {
                continue;
            }
            String name = fusion.uniqueName(product.name().isEmpty() ? "FusedMatMul" : product.name() + "/Scaled");
            fusion.replace(List.of(product, scale),
                NodeFusion.contribNode("FusedMatMul", product.inputs(), scale.outputs().get(0), name,
                    List.of(NodeFusion.floatAttribute("alpha", alpha.get()))));
        }
        return fusion.write(weightsFile);
    }

    /** The factor {@code scale} multiplies {@code product} by, when it is a Div by or a Mul with a constant scalar. */
    private static Optional<Float> alpha(GraphIndex index, Node scale, String product) {
        if (!scale.isDefaultDomain() || scale.inputs().size() != 2 || scale.outputs().size() != 1) {
            return Optional.empty();
        }
        if (scale.opType().equals("Div") && scale.input(0).equals(product) && !scale.input(1).equals(product)) {
            return index.floatScalar(scale.input(1)).filter(s -> s != 0 && Float.isFinite(s) && Float.isFinite(1 / s)).map(s -> 1 / s);
        }
        if (scale.opType().equals("Mul")) {
            String other = GraphIndex.otherInput(scale, product);
            return other == null ? Optional.empty() : index.floatScalar(other).filter(Float::isFinite);
        }
        return Optional.empty();
    }
}
