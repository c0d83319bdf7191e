package io.embedder.core.runtime;

import io.embedder.core.runtime.OnnxGraph.Node;
import io.embedder.core.runtime.ProtoWire.Field;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

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

    /** The operator domain of ONNX Runtime's contrib operators, where {@code Gelu} is (version 1). */
    static final String CONTRIB_DOMAIN = "com.microsoft";
    private static final float SQRT_2 = (float) Math.sqrt(2);
    /** TensorProto.float_data. */
    private static final int TENSOR_FLOAT_DATA = 4;

    private GeluFusion() {}

    /**
     * The rewritten model and the number of GELUs fused.
     *
     * @param model the rewritten model; null when {@code fused} is 0 (nothing to rewrite)
     */
    record Fused(byte[] model, int fused) {}

    /**
     * Fuses the GELUs of {@code model} (position to limit; not copied, so it must stay unchanged while the result is in
     * use). Initializers are copied as they are, or with {@code weightsFile} (the name of the file {@code model} is,
     * whole) written as references to their bytes in that file, as {@link OnnxGraph#write} does.
     *
     * @throws IllegalArgumentException when the bytes are not a model
     */
    static Fused rewrite(ByteBuffer model, String weightsFile) {
        OnnxGraph graph = OnnxGraph.parse(model);
        GraphIndex index = new GraphIndex(graph);
        GraphIndex.Names names = new GraphIndex.Names(graph);
        Set<Integer> removed = new HashSet<>();
        Map<Integer, ByteBuffer> replaced = new HashMap<>();
        Set<String> gone = new HashSet<>();
        Set<String> graphOutputs = new HashSet<>();
        graph.outputs().forEach(o -> graphOutputs.add(o.name()));
        for (Node erf : graph.nodes()) {
            if (!erf.opType().equals("Erf") || !erf.isDefaultDomain()) {
                continue;
            }
            List<Node> chain = chain(index, erf);
            if (chain.isEmpty() || chain.subList(0, chain.size() - 1).stream().anyMatch(n -> graphOutputs.contains(n.outputs().get(0)))) {
                continue;
            }
            Node div = chain.get(0);
            Node half = chain.get(chain.size() - 1);
            String x = div.input(0);
            for (Node n : chain) {
                removed.add(n.index());
                if (n != half) {
                    gone.addAll(n.outputs());
                }
            }
            replaced.put(half.index(), gelu(x, half.outputs().get(0), names.unique(half.name().isEmpty() ? "Gelu" : half.name() + "/Gelu")));
        }
        if (replaced.isEmpty()) {
            return new Fused(null, 0);
        }
        // the constants only the fused nodes read
        for (Node n : graph.nodes()) {
            if (n.opType().equals("Constant") && n.inputs().isEmpty()
                && n.outputs().stream().allMatch(o -> index.consumers(o).stream().allMatch(c -> removed.contains(c.index())))) {
                removed.add(n.index());
                gone.addAll(n.outputs());
            }
        }
        List<ByteBuffer> nodes = new ArrayList<>();
        for (Node n : graph.nodes()) {
            if (replaced.containsKey(n.index())) {
                nodes.add(replaced.get(n.index()));
            } else if (!removed.contains(n.index())) {
                nodes.add(n.field().value());
            }
        }
        byte[] written = graph.write(nodes, graph.outputs().stream().map(o -> o.field().value()).toList(), gone::contains, weightsFile);
        return new Fused(withContribOpset(written), replaced.size());
    }

    /**
     * The nodes {@code Div, Erf, Add, Mul, Mul} of the GELU around {@code erf}, or an empty list when {@code erf} is not
     * in one (see the class comment).
     */
    private static List<Node> chain(GraphIndex index, Node erf) {
        Node div = index.producer(erf.input(0));
        if (div == null || !div.opType().equals("Div") || !div.isDefaultDomain() || index.consumers(div.outputs().get(0)).size() != 1
            || !near(constant(index, div.input(1)), SQRT_2, 1e-6f)) {
            return List.of();
        }
        String x = div.input(0);
        Node add = only(index, erf.outputs().get(0), "Add");
        if (add == null || !near(constant(index, other(add, erf.outputs().get(0))), 1f, 0f)) {
            return List.of();
        }
        Node mul = only(index, add.outputs().get(0), "Mul");
        if (mul == null || !x.equals(other(mul, add.outputs().get(0)))) {
            return List.of();
        }
        Node half = only(index, mul.outputs().get(0), "Mul");
        if (half == null || !near(constant(index, other(half, mul.outputs().get(0))), 0.5f, 0f)) {
            return List.of();
        }
        return List.of(div, erf, add, mul, half);
    }

    /** The one node reading {@code tensor}, when it is a binary {@code op} of the default domain; else null. */
    private static Node only(GraphIndex index, String tensor, String op) {
        List<Node> readers = index.consumers(tensor);
        if (readers.size() != 1) {
            return null;
        }
        Node n = readers.get(0);
        return n.opType().equals(op) && n.isDefaultDomain() && n.inputs().size() == 2 && n.outputs().size() == 1 ? n : null;
    }

    /** The input of binary node {@code n} that is not {@code one} (null when both are). */
    private static String other(Node n, String one) {
        if (n.input(0).equals(one)) {
            return n.input(1).equals(one) ? null : n.input(1);
        }
        return n.input(1).equals(one) ? n.input(0) : null;
    }

    private static boolean near(Optional<Float> value, float expected, float tolerance) {
        return value.isPresent() && Math.abs(value.get() - expected) <= tolerance;
    }

    /** The value of {@code tensor} when a Constant node makes it a float scalar or one-element float tensor. */
    private static Optional<Float> constant(GraphIndex index, String tensor) {
        Node c = tensor == null ? null : index.producer(tensor);
        if (c == null || !c.opType().equals("Constant") || !c.isDefaultDomain()) {
            return Optional.empty();
        }
        Optional<Field> t = c.attribute("value").flatMap(a -> a.fields().stream()
            .filter(f -> f.number() == OnnxGraph.ATTR_T && f.wireType() == ProtoWire.LEN).findFirst());
        if (t.isEmpty()) {
            return Optional.empty();
        }
        int dataType = -1;
        long elements = 1;
        ByteBuffer bytes = null;
        for (Field f : ProtoWire.fields(t.get().value())) {
            if (f.number() == OnnxGraph.TENSOR_DATA_TYPE && f.wireType() == ProtoWire.VARINT) {
                dataType = (int) f.varint();
            } else if (f.number() == OnnxGraph.TENSOR_DIMS && f.wireType() == ProtoWire.VARINT) {
                elements *= f.varint();
            } else if ((f.number() == OnnxGraph.TENSOR_RAW_DATA || f.number() == TENSOR_FLOAT_DATA)
                && (f.wireType() == ProtoWire.LEN || f.wireType() == ProtoWire.FIXED32)) {
                bytes = f.value();
            }
        }
        if (dataType != GraphNodes.FLOAT || elements != 1 || bytes == null || bytes.remaining() != Float.BYTES) {
            return Optional.empty();
        }
        return Optional.of(bytes.order(ByteOrder.LITTLE_ENDIAN).getFloat(0));
    }

    private static ByteBuffer gelu(String input, String output, String name) {
        return ByteBuffer.wrap(new ProtoWire.Writer().stringField(OnnxGraph.NODE_INPUT, input).stringField(OnnxGraph.NODE_OUTPUT, output)
            .stringField(OnnxGraph.NODE_NAME, name).stringField(OnnxGraph.NODE_OP_TYPE, "Gelu")
            .stringField(OnnxGraph.NODE_DOMAIN, CONTRIB_DOMAIN).toByteArray());
    }

    /** {@code model} importing the contrib domain (version 1), unless it already does. */
    private static byte[] withContribOpset(byte[] model) {
        for (Field f : ProtoWire.fields(ByteBuffer.wrap(model))) {
            if (f.number() == OnnxGraph.MODEL_OPSET_IMPORT && f.wireType() == ProtoWire.LEN) {
                for (Field o : f.children()) {
                    if (o.number() == OnnxGraph.OPSET_DOMAIN && o.wireType() == ProtoWire.LEN && o.string().equals(CONTRIB_DOMAIN)) {
                        return model;
                    }
                }
            }
        }
        byte[] opset = new ProtoWire.Writer().stringField(OnnxGraph.OPSET_DOMAIN, CONTRIB_DOMAIN).varintField(OnnxGraph.OPSET_VERSION, 1).toByteArray();
        byte[] prefix = ProtoWire.lenPrefix(OnnxGraph.MODEL_OPSET_IMPORT, opset.length);
        byte[] out = new byte[model.length + prefix.length + opset.length];
        System.arraycopy(model, 0, out, 0, model.length);
        System.arraycopy(prefix, 0, out, model.length, prefix.length);
        System.arraycopy(opset, 0, out, model.length + prefix.length, opset.length);
        return out;
    }
}
