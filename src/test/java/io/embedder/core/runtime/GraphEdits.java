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

    /**
     * {@code y = x · half · (1 + erf(x / √2))} over {@code x [batch, seq, 4]}, as PyTorch exports GELU (with {@code half}
     * ½): Div, Erf, Add, Mul, Mul, their constants Constant nodes; with {@code erfReadTwice} the Erf's output is a second
     * graph output too.
     */
    static ByteBuffer geluModel(float half, boolean erfReadTwice) {
        ProtoWire.Writer graph = new ProtoWire.Writer();
        graph.bytesField(OnnxGraph.GRAPH_NODE, floatConstant("sqrt2", (float) Math.sqrt(2)));
        graph.bytesField(OnnxGraph.GRAPH_NODE, binary("Div", "x", "sqrt2", "d"));
        graph.bytesField(OnnxGraph.GRAPH_NODE, new ProtoWire.Writer().stringField(OnnxGraph.NODE_INPUT, "d").stringField(OnnxGraph.NODE_OUTPUT, "e")
            .stringField(OnnxGraph.NODE_NAME, "Erf").stringField(OnnxGraph.NODE_OP_TYPE, "Erf").toByteArray());
        graph.bytesField(OnnxGraph.GRAPH_NODE, floatConstant("one", 1f));
        graph.bytesField(OnnxGraph.GRAPH_NODE, binary("Add", "e", "one", "a"));
        graph.bytesField(OnnxGraph.GRAPH_NODE, binary("Mul", "x", "a", "m"));
        graph.bytesField(OnnxGraph.GRAPH_NODE, floatConstant("half", half));
        graph.bytesField(OnnxGraph.GRAPH_NODE, binary("Mul", "m", "half", "y"));
        graph.stringField(2, "gelu").bytesField(OnnxGraph.GRAPH_INPUT, valueInfo("x")).bytesField(OnnxGraph.GRAPH_OUTPUT, valueInfo("y"));
        if (erfReadTwice) {
            graph.bytesField(OnnxGraph.GRAPH_OUTPUT, valueInfo("e"));
        }
        byte[] opset = new ProtoWire.Writer().stringField(OnnxGraph.OPSET_DOMAIN, "").varintField(OnnxGraph.OPSET_VERSION, 11).toByteArray();
        return ByteBuffer.wrap(new ProtoWire.Writer().varintField(1, 7).bytesField(OnnxGraph.MODEL_GRAPH, graph.toByteArray())
            .bytesField(OnnxGraph.MODEL_OPSET_IMPORT, opset).toByteArray());
    }

    /**
     * A post-LN residual block over {@code x, r [batch, seq, 4]}, as PyTorch exports it: {@code r1 = LayerNorm(r)} (γ 1,
     * β 0), {@code h = Add(bias, MatMul(x, I))} with bias {@code [0, 1, 0, 2]}, {@code y = LayerNorm(h + r1)} with γ
     * {@code [1, 2, ½, 1]}, β {@code [0, 0, 0, 1]}, ε 1e-12; each LayerNorm as ReduceMean, Sub, Pow {@code exponent},
     * ReduceMean, Add ε, Sqrt, Div, Mul γ, Add β. With {@code residualFromLayerNorm} false the residual Add reads
     * {@code r} itself.
     */
    static ByteBuffer layerNormModel(float exponent, boolean residualFromLayerNorm) {
        ProtoWire.Writer graph = new ProtoWire.Writer();
        layerNorm(graph, "r", "r1", "g1", "b1", exponent);
        graph.bytesField(OnnxGraph.GRAPH_NODE, binary("MatMul", "x", "w", "p"));
        graph.bytesField(OnnxGraph.GRAPH_NODE, binary("Add", "bias", "p", "h"));
        graph.bytesField(OnnxGraph.GRAPH_NODE, binary("Add", "h", residualFromLayerNorm ? "r1" : "r", "s"));
        layerNorm(graph, "s", "y", "g2", "b2", exponent);
        graph.stringField(2, "layernorm");
        graph.bytesField(OnnxGraph.GRAPH_INITIALIZER, floatInitializer("w", new float[] {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, 4, 4));
        graph.bytesField(OnnxGraph.GRAPH_INITIALIZER, floatInitializer("bias", new float[] {0, 1, 0, 2}, 4));
        graph.bytesField(OnnxGraph.GRAPH_INITIALIZER, floatInitializer("g1", new float[] {1, 1, 1, 1}, 4));
        graph.bytesField(OnnxGraph.GRAPH_INITIALIZER, floatInitializer("b1", new float[] {0, 0, 0, 0}, 4));
        graph.bytesField(OnnxGraph.GRAPH_INITIALIZER, floatInitializer("g2", new float[] {1, 2, 0.5f, 1}, 4));
        graph.bytesField(OnnxGraph.GRAPH_INITIALIZER, floatInitializer("b2", new float[] {0, 0, 0, 1}, 4));
        graph.bytesField(OnnxGraph.GRAPH_INPUT, valueInfo("x")).bytesField(OnnxGraph.GRAPH_INPUT, valueInfo("r"))
            .bytesField(OnnxGraph.GRAPH_OUTPUT, valueInfo("y"));
        byte[] opset = new ProtoWire.Writer().stringField(OnnxGraph.OPSET_DOMAIN, "").varintField(OnnxGraph.OPSET_VERSION, 13).toByteArray();
        return ByteBuffer.wrap(new ProtoWire.Writer().varintField(1, 7).bytesField(OnnxGraph.MODEL_GRAPH, graph.toByteArray())
            .bytesField(OnnxGraph.MODEL_OPSET_IMPORT, opset).toByteArray());
    }

    /**
     * {@code y = scaleOp(MatMul(x, w), c)} over {@code x [batch, seq, 4]}, {@code w = diag(1, 2, 3, 4)} an initializer and
     * {@code c} a Constant scalar: Div or Mul; with {@code productReadTwice} the product is a second graph output too,
     * with {@code scaleFirst} the Div divides the constant by the product.
     */
    static ByteBuffer scaledMatMulModel(String scaleOp, float c, boolean productReadTwice, boolean scaleFirst) {
        ProtoWire.Writer graph = new ProtoWire.Writer();
        graph.bytesField(OnnxGraph.GRAPH_NODE, binary("MatMul", "x", "w", "p"));
        graph.bytesField(OnnxGraph.GRAPH_NODE, floatConstant("c", c));
        graph.bytesField(OnnxGraph.GRAPH_NODE, scaleFirst ? binary(scaleOp, "c", "p", "y") : binary(scaleOp, "p", "c", "y"));
        graph.stringField(2, "scaled");
        graph.bytesField(OnnxGraph.GRAPH_INITIALIZER, floatInitializer("w", new float[] {1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0, 0, 0, 4}, 4, 4));
        graph.bytesField(OnnxGraph.GRAPH_INPUT, valueInfo("x")).bytesField(OnnxGraph.GRAPH_OUTPUT, valueInfo("y"));
        if (productReadTwice) {
            graph.bytesField(OnnxGraph.GRAPH_OUTPUT, valueInfo("p"));
        }
        byte[] opset = new ProtoWire.Writer().stringField(OnnxGraph.OPSET_DOMAIN, "").varintField(OnnxGraph.OPSET_VERSION, 13).toByteArray();
        return ByteBuffer.wrap(new ProtoWire.Writer().varintField(1, 7).bytesField(OnnxGraph.MODEL_GRAPH, graph.toByteArray())
            .bytesField(OnnxGraph.MODEL_OPSET_IMPORT, opset).toByteArray());
    }

    private static void layerNorm(ProtoWire.Writer graph, String in, String out, String gamma, String beta, float exponent) {
        graph.bytesField(OnnxGraph.GRAPH_NODE, lastAxisMean(in, out + "_mean"));
        graph.bytesField(OnnxGraph.GRAPH_NODE, binary("Sub", in, out + "_mean", out + "_centred"));
        graph.bytesField(OnnxGraph.GRAPH_NODE, floatConstant(out + "_exponent", exponent));
        graph.bytesField(OnnxGraph.GRAPH_NODE, binary("Pow", out + "_centred", out + "_exponent", out + "_squares"));
        graph.bytesField(OnnxGraph.GRAPH_NODE, lastAxisMean(out + "_squares", out + "_variance"));
        graph.bytesField(OnnxGraph.GRAPH_NODE, floatConstant(out + "_epsilon", 1e-12f));
        graph.bytesField(OnnxGraph.GRAPH_NODE, binary("Add", out + "_variance", out + "_epsilon", out + "_shifted"));
        graph.bytesField(OnnxGraph.GRAPH_NODE, new ProtoWire.Writer().stringField(OnnxGraph.NODE_INPUT, out + "_shifted")
            .stringField(OnnxGraph.NODE_OUTPUT, out + "_std").stringField(OnnxGraph.NODE_NAME, "Sqrt_" + out).stringField(OnnxGraph.NODE_OP_TYPE, "Sqrt")
            .toByteArray());
        graph.bytesField(OnnxGraph.GRAPH_NODE, binary("Div", out + "_centred", out + "_std", out + "_normed"));
        graph.bytesField(OnnxGraph.GRAPH_NODE, binary("Mul", out + "_normed", gamma, out + "_scaled"));
        graph.bytesField(OnnxGraph.GRAPH_NODE, binary("Add", out + "_scaled", beta, out));
    }

    private static byte[] lastAxisMean(String in, String out) {
        byte[] axes = new ProtoWire.Writer().stringField(OnnxGraph.ATTR_NAME, "axes").varintField(OnnxGraph.ATTR_INTS, -1)
            .varintField(OnnxGraph.ATTR_TYPE, 7).toByteArray();
        return new ProtoWire.Writer().stringField(OnnxGraph.NODE_INPUT, in).stringField(OnnxGraph.NODE_OUTPUT, out)
            .stringField(OnnxGraph.NODE_NAME, "ReduceMean_" + out).stringField(OnnxGraph.NODE_OP_TYPE, "ReduceMean")
            .bytesField(OnnxGraph.NODE_ATTRIBUTE, axes).toByteArray();
    }

    private static byte[] floatInitializer(String name, float[] values, long... dims) {
        java.nio.ByteBuffer raw = java.nio.ByteBuffer.allocate(values.length * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            raw.putFloat(v);
        }
        ProtoWire.Writer t = new ProtoWire.Writer();
        for (long d : dims) {
            t.varintField(OnnxGraph.TENSOR_DIMS, d);
        }
        return t.varintField(OnnxGraph.TENSOR_DATA_TYPE, 1).stringField(OnnxGraph.TENSOR_NAME, name).bytesField(OnnxGraph.TENSOR_RAW_DATA, raw.array())
            .toByteArray();
    }

    private static byte[] binary(String op, String a, String b, String out) {
        return new ProtoWire.Writer().stringField(OnnxGraph.NODE_INPUT, a).stringField(OnnxGraph.NODE_INPUT, b).stringField(OnnxGraph.NODE_OUTPUT, out)
            .stringField(OnnxGraph.NODE_NAME, op + "_" + out).stringField(OnnxGraph.NODE_OP_TYPE, op).toByteArray();
    }

    private static byte[] floatConstant(String out, float value) {
        byte[] raw = java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(value).array();
        byte[] tensor = new ProtoWire.Writer().varintField(OnnxGraph.TENSOR_DATA_TYPE, 1).bytesField(OnnxGraph.TENSOR_RAW_DATA, raw).toByteArray();
        byte[] attribute = new ProtoWire.Writer().stringField(OnnxGraph.ATTR_NAME, "value").bytesField(OnnxGraph.ATTR_T, tensor)
            .varintField(OnnxGraph.ATTR_TYPE, OnnxGraph.ATTR_TYPE_TENSOR).toByteArray();
        return new ProtoWire.Writer().stringField(OnnxGraph.NODE_OUTPUT, out).stringField(OnnxGraph.NODE_NAME, "Constant_" + out)
            .stringField(OnnxGraph.NODE_OP_TYPE, "Constant").bytesField(OnnxGraph.NODE_ATTRIBUTE, attribute).toByteArray();
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
