package io.embedder.core.runtime;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** Mutations of a real graph, one node changed, for the rewrite's refusals; and a tiny graph built by hand. */
final class GraphEdits {

    private GraphEdits() {}

    /** {@code model} with input {@code index} of node {@code node} replaced by {@code input}. */
    static ByteBuffer withInput(ByteBuffer model, String node, int index, String input) {
        return edit(model, node, n -> {
            List<String> inputs = new ArrayList<>(n.inputs());
            inputs.set(index, input);
            return encode(n, inputs, n.opType(), null, null);
        });
    }

    /** {@code model} with node {@code node}'s ints attribute {@code attribute} set to {@code ints}. */
    static ByteBuffer withInts(ByteBuffer model, String node, String attribute, List<Long> ints) {
        return edit(model, node, n -> encode(n, n.inputs(), n.opType(), attribute, ints));
    }

    /** {@code model} with node {@code node}'s op type {@code op}. */
    static ByteBuffer withOpType(ByteBuffer model, String node, String op) {
        return edit(model, node, n -> encode(n, n.inputs(), op, null, null));
    }

    /** A model of one Relu node, {@code y = Relu(x)}, both float {@code [batch, seq, 4]}. */
    static ByteBuffer reluModel() {
        byte[] node = new ProtoWire.Writer().stringField(OnnxGraph.NODE_INPUT, "x").stringField(OnnxGraph.NODE_OUTPUT, "y")
            .stringField(OnnxGraph.NODE_OP_TYPE, "Relu").toByteArray();
        byte[] graph = new ProtoWire.Writer().bytesField(OnnxGraph.GRAPH_NODE, node).stringField(2, "relu")
            .bytesField(OnnxGraph.GRAPH_INPUT, valueInfo("x")).bytesField(OnnxGraph.GRAPH_OUTPUT, valueInfo("y")).toByteArray();
        byte[] opset = new ProtoWire.Writer().stringField(OnnxGraph.OPSET_DOMAIN, "").varintField(OnnxGraph.OPSET_VERSION, 13).toByteArray();
        return ByteBuffer.wrap(new ProtoWire.Writer().varintField(1, 7).bytesField(OnnxGraph.MODEL_GRAPH, graph)
            .bytesField(OnnxGraph.MODEL_OPSET_IMPORT, opset).toByteArray());
    }

    private static byte[] valueInfo(String name) {
        ProtoWire.Writer shape = new ProtoWire.Writer();
        shape.bytesField(OnnxGraph.SHAPE_DIM, new ProtoWire.Writer().stringField(2, "batch").toByteArray());
        shape.bytesField(OnnxGraph.SHAPE_DIM, new ProtoWire.Writer().stringField(2, "seq").toByteArray());
        shape.bytesField(OnnxGraph.SHAPE_DIM, new ProtoWire.Writer().varintField(1, 4).toByteArray());
        byte[] tensorType = new ProtoWire.Writer().varintField(OnnxGraph.TENSOR_TYPE_ELEM_TYPE, 1)
            .bytesField(OnnxGraph.TENSOR_TYPE_SHAPE, shape.toByteArray()).toByteArray();
        byte[] type = new ProtoWire.Writer().bytesField(OnnxGraph.TYPE_TENSOR_TYPE, tensorType).toByteArray();
        return new ProtoWire.Writer().stringField(OnnxGraph.VALUE_INFO_NAME, name).bytesField(OnnxGraph.VALUE_INFO_TYPE, type).toByteArray();
    }

    private static ByteBuffer edit(ByteBuffer model, String node, Function<OnnxGraph.Node, ByteBuffer> change) {
        OnnxGraph graph = OnnxGraph.parse(model);
        List<ByteBuffer> nodes = new ArrayList<>();
        int changed = 0;
        for (OnnxGraph.Node n : graph.nodes()) {
            if (n.name().equals(node)) {
                nodes.add(change.apply(n));
                changed++;
            } else {
                nodes.add(n.field().value());
            }
        }
        if (changed != 1) {
            throw new IllegalArgumentException(changed + " nodes named [" + node + "]");
        }
        List<ByteBuffer> outputs = graph.outputs().stream().map(v -> v.field().value()).toList();
        return ByteBuffer.wrap(graph.write(nodes, outputs, name -> false));
    }

    /** Re-encodes {@code n} with these inputs and op type, and attribute {@code ints} (when not null) replaced. */
    private static ByteBuffer encode(OnnxGraph.Node n, List<String> inputs, String op, String intsName, List<Long> ints) {
        ProtoWire.Writer w = new ProtoWire.Writer();
        inputs.forEach(i -> w.stringField(OnnxGraph.NODE_INPUT, i));
        n.outputs().forEach(o -> w.stringField(OnnxGraph.NODE_OUTPUT, o));
        w.stringField(OnnxGraph.NODE_NAME, n.name()).stringField(OnnxGraph.NODE_OP_TYPE, op);
        for (OnnxGraph.Attribute a : n.attributes()) {
            ProtoWire.Writer attribute = new ProtoWire.Writer();
            if (a.name().equals(intsName)) {
                attribute.stringField(OnnxGraph.ATTR_NAME, a.name());
                ints.forEach(v -> attribute.varintField(OnnxGraph.ATTR_INTS, v));
                attribute.varintField(OnnxGraph.ATTR_TYPE, 7);
            } else {
                a.fields().forEach(f -> attribute.raw(f.raw()));
            }
            w.bytesField(OnnxGraph.NODE_ATTRIBUTE, attribute.toByteArray());
        }
        return ByteBuffer.wrap(w.toByteArray());
    }
}
