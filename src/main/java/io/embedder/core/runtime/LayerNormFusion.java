package io.embedder.core.runtime;

import io.embedder.core.runtime.OnnxGraph.Node;
import io.embedder.core.runtime.OnnxGraph.Tensor;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Fuses each residual connection and the LayerNorm after it, as PyTorch exports a post-LN transformer layer, into one
 * ONNX Runtime {@code com.microsoft:SkipLayerNormalization} node: {@code LayerNorm(input + skip)}, where the graph has
 * ten nodes (the residual Add, then ReduceMean, Sub, Pow 2, ReduceMean, Add ε, Sqrt, Div, Mul γ, Add β over the last
 * axis). The kernel makes one pass over each row where the graph makes ten; the result is the same function, its
 * rounding a little different (it sums in another order).
 *
 * <p>Only this shape is fused: every intermediate read by the next node alone (the centred values by the Pow and the
 * Div), both ReduceMeans over axis -1 keeping it, the exponent exactly 2, ε a Constant scalar in (0, 1e-3], γ and β
 * one-dimensional initializers, and one operand of the residual Add the output of another recognized LayerNorm (the
 * residual stream, of the same shape as the other operand). The embeddings' LayerNorm, whose input adds broadcast
 * position embeddings, stays as it is, and so does any other shape. The projection's bias Add before the residual Add
 * stays too: ONNX Runtime 1.29's kernel with its optional bias input ran slower than without it (BENCHMARKS.md "Fused
 * LayerNorm and attention scale"). ONNX Runtime's own fusion at the extended level makes standard LayerNormalization
 * nodes, which run slower than the plain operators here (BENCHMARKS.md "Fused GELU").
 */
final class LayerNormFusion {

    private LayerNormFusion() {}

    /** The nodes of one LayerNorm, from its first ReduceMean to its β Add, and its ε, γ and β. */
    private record LayerNorm(List<Node> nodes, String input, float epsilon, String gamma, String beta) {
        Node last() {
            return nodes.get(nodes.size() - 1);
        }
    }

    /**
     * Fuses the residual LayerNorms of {@code model} (position to limit; not copied). Initializers are copied as they
     * are, or written as references into {@code weightsFile} as {@link GeluFusion#rewrite} does.
     *
     * @throws IllegalArgumentException when the bytes are not a model
     */
    static NodeFusion.Fused rewrite(ByteBuffer model, String weightsFile) {
        NodeFusion fusion = new NodeFusion(model);
        GraphIndex index = fusion.index();
        Map<String, LayerNorm> byOutput = new LinkedHashMap<>(); // in graph order
        for (Node n : fusion.graph().nodes()) {
            if (n.opType().equals("ReduceMean") && n.isDefaultDomain()) {
                layerNorm(index, n).ifPresent(ln -> byOutput.put(ln.last().outputs().get(0), ln));
            }
        }
        for (LayerNorm ln : byOutput.values()) {
            Node residual = index.producer(ln.input());
            if (residual == null || !residual.opType().equals("Add") || !residual.isDefaultDomain() || residual.inputs().size() != 2
                || index.consumers(ln.input()).size() != 2) {
                continue;
            }
            String skip = byOutput.containsKey(residual.input(1)) ? residual.input(1) : byOutput.containsKey(residual.input(0)) ? residual.input(0) : null;
            if (skip == null) {
                continue;
            }
            String input = GraphIndex.otherInput(residual, skip);
            if (input == null || index.constantDerived(input)) {
                continue;
            }
            List<Node> chain = new ArrayList<>();
            chain.add(residual);
            chain.addAll(ln.nodes());
            if (!fusion.replaceable(chain)) {
                continue;
            }
            String name = fusion.uniqueName(ln.last().name().isEmpty() ? "SkipLayerNorm" : ln.last().name() + "/SkipLayerNorm");
            List<String> inputs = List.of(input, skip, ln.gamma(), ln.beta());
            fusion.replace(chain, NodeFusion.contribNode("SkipLayerNormalization", inputs, ln.last().outputs().get(0), name,
                List.of(NodeFusion.floatAttribute("epsilon", ln.epsilon()))));
        }
        return fusion.write(weightsFile);
    }

    /** The LayerNorm whose first ReduceMean is {@code mean}, if the nodes after it are one (see the class comment). */
    private static Optional<LayerNorm> layerNorm(GraphIndex index, Node mean) {
        String x = mean.input(0);
        if (mean.inputs().size() != 1 || !overLastAxis(mean)) {
            return Optional.empty();
        }
        Node sub = index.onlyReader(mean.outputs().get(0), "Sub");
        if (sub == null || !sub.input(0).equals(x) || !sub.input(1).equals(mean.outputs().get(0))) {
            return Optional.empty();
        }
        String centred = sub.outputs().get(0);
        List<Node> readers = index.consumers(centred);
        Node pow = readers.stream().filter(n -> n.opType().equals("Pow")).findFirst().orElse(null);
        Node div = readers.stream().filter(n -> n.opType().equals("Div")).findFirst().orElse(null);
        if (readers.size() != 2 || pow == null || div == null || !pow.isDefaultDomain() || !pow.input(0).equals(centred)
            || !index.floatScalarNear(pow.input(1), 2f, 0f) || !div.isDefaultDomain() || !div.input(0).equals(centred)) {
            return Optional.empty();
        }
        Node variance = index.onlyReader(pow.outputs().get(0), "ReduceMean", 1);
        if (variance == null || !overLastAxis(variance)) {
            return Optional.empty();
        }
        Node addEpsilon = index.onlyReader(variance.outputs().get(0), "Add");
        Optional<Float> epsilon = addEpsilon == null ? Optional.empty()
            : index.floatScalar(GraphIndex.otherInput(addEpsilon, variance.outputs().get(0)));
        if (epsilon.isEmpty() || !(epsilon.get() > 0 && epsilon.get() <= 1e-3f)) {
            return Optional.empty();
        }
        Node sqrt = index.onlyReader(addEpsilon.outputs().get(0), "Sqrt", 1);
        if (sqrt == null || index.onlyReader(sqrt.outputs().get(0), "Div") != div || !div.input(1).equals(sqrt.outputs().get(0))) {
            return Optional.empty();
        }
        Node scale = index.onlyReader(div.outputs().get(0), "Mul");
        String gamma = scale == null ? null : GraphIndex.otherInput(scale, div.outputs().get(0));
        Node shift = scale == null ? null : index.onlyReader(scale.outputs().get(0), "Add");
        String beta = shift == null ? null : GraphIndex.otherInput(shift, scale.outputs().get(0));
        if (!vectorInitializer(index, gamma) || !vectorInitializer(index, beta)) {
            return Optional.empty();
        }
        return Optional.of(new LayerNorm(List.of(mean, sub, pow, variance, addEpsilon, sqrt, div, scale, shift), x, epsilon.get(), gamma, beta));
    }

    private static boolean overLastAxis(Node reduceMean) {
        return reduceMean.attribute("axes").map(OnnxGraph.Attribute::ints).orElse(List.of()).equals(List.of(-1L))
            && reduceMean.attribute("keepdims").flatMap(OnnxGraph.Attribute::i).orElse(1L) == 1L;
    }

    private static boolean vectorInitializer(GraphIndex index, String name) {
        Tensor t = name == null ? null : index.constant(name);
        return t != null && t.dims().size() == 1 && t.dataType() == GraphNodes.FLOAT && index.producer(name) == null;
    }
}
