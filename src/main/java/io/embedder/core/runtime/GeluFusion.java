package io.embedder.core.runtime;

import io.embedder.core.runtime.OnnxGraph.Node;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * Fuses each exact GELU of an encoder's ONNX graph, as PyTorch exports {@code gelu(x) = x · ½ · (1 + erf(x / √2))}:
 * {@code Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), ½)}, five element-wise nodes over the feed-forward block's widest
 * tensor ({@code [tokens, 4 · hidden]}), into one ONNX Runtime {@code com.microsoft:Gelu} node, which computes the same
 * function in one pass over the tensor. The result is the same function of {@code x}; its rounding may differ in the
 * last bit (the kernel multiplies by {@code 1/√2} where the graph divides by {@code √2}).
 *
 * <p>Only this node chain is fused: each intermediate read by the next node alone, the constants scalars (or
 * one-element tensors) of Constant nodes, {@code √2} within 1e-6 and exactly {@code 1} and {@code ½}. Any other shape
 * of GELU (the tanh approximation, another order of the products) is left as it is. ONNX Runtime fuses the same chain
 * at its extended optimization level, but that level also fuses the LayerNorms into its LayerNormalization kernel,
 * which runs slower than the plain operators it replaces (BENCHMARKS.md "Fused GELU").
 */
final class GeluFusion {

    private static final float SQRT_2 = (float) Math.sqrt(2);

    private GeluFusion() {}

    /**
     * Fuses the GELUs of {@code model} (position to limit; not copied, so it must stay unchanged while the result is in
     * use). Initializers are copied as they are, or with {@code weightsFile} (the name of the file {@code model} is,
     * whole) written as references to their bytes in that file, as {@link OnnxGraph#write} does.
     *
     * @throws IllegalArgumentException when the bytes are not a model
     */
    static NodeFusion.Fused rewrite(ByteBuffer model, String weightsFile) {
        NodeFusion fusion = new NodeFusion(model);
        for (Node erf : fusion.graph().nodes()) {
            if (!erf.opType().equals("Erf") || !erf.isDefaultDomain()) {
                continue;
            }
            List<Node> chain = chain(fusion.index(), erf);
            if (chain.isEmpty() || !fusion.replaceable(chain)) {
                continue;
            }
            Node half = chain.get(chain.size() - 1);
            String name = fusion.uniqueName(half.name().isEmpty() ? "Gelu" : half.name() + "/Gelu");
            fusion.replace(chain, NodeFusion.contribNode("Gelu", List.of(chain.get(0).input(0)), half.outputs().get(0), name, List.of()));
        }
        return fusion.write(weightsFile);
    }

    /**
     * The nodes {@code Div, Erf, Add, Mul, Mul} of the GELU around {@code erf}, or an empty list when {@code erf} is not
     * in one (see the class comment).
     */
    private static List<Node> chain(GraphIndex index, Node erf) {
        Node div = index.producer(erf.input(0));
        if (div == null || !div.opType().equals("Div") || !div.isDefaultDomain() || index.consumers(div.outputs().get(0)).size() != 1
            || !index.floatScalarNear(div.input(1), SQRT_2, 1e-6f)) {
            return List.of();
        }
        String x = div.input(0);
        Node add = index.onlyReader(erf.outputs().get(0), "Add");
        if (add == null || !index.floatScalarNear(GraphIndex.otherInput(add, erf.outputs().get(0)), 1f, 0f)) {
            return List.of();
        }
        Node mul = index.onlyReader(add.outputs().get(0), "Mul");
        if (mul == null || !x.equals(GraphIndex.otherInput(mul, add.outputs().get(0)))) {
            return List.of();
        }
        Node half = index.onlyReader(mul.outputs().get(0), "Mul");
        if (half == null || !index.floatScalarNear(GraphIndex.otherInput(half, mul.outputs().get(0)), 0.5f, 0f)) {
            return List.of();
        }
        return List.of(div, erf, add, mul, half);
    }
}
