package io.embedder.core.runtime;

import io.embedder.core.runtime.OnnxGraph.Node;
import io.embedder.core.runtime.ProtoWire.Field;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/** Encoded ONNX NodeProtos (without tag) for the graph rewrites: a few operators and constants, and renamed nodes. */
final class GraphNodes {

    /** ONNX TensorProto data type of booleans. */
    static final int BOOL = 9;
    /** ONNX TensorProto data type of 32-bit floats. */
    static final int FLOAT = 1;

    private GraphNodes() {}

    /** {@code n} with its inputs and outputs renamed, every other field as it was. */
    static ByteBuffer renamed(Node n, List<String> inputs, List<String> outputs) {
        ProtoWire.Writer w = new ProtoWire.Writer();
        boolean inputsWritten = false;
        boolean outputsWritten = false;
        for (Field f : ProtoWire.fields(n.field().value())) {
            if (f.number() == OnnxGraph.NODE_INPUT && f.wireType() == ProtoWire.LEN) {
                if (!inputsWritten) {
                    inputs.forEach(i -> w.stringField(OnnxGraph.NODE_INPUT, i));
                    inputsWritten = true;
                }
            } else if (f.number() == OnnxGraph.NODE_OUTPUT && f.wireType() == ProtoWire.LEN) {
                if (!outputsWritten) {
                    outputs.forEach(o -> w.stringField(OnnxGraph.NODE_OUTPUT, o));
                    outputsWritten = true;
                }
            } else {
                w.raw(f.raw());
            }
        }
        return ByteBuffer.wrap(w.toByteArray());
    }

    /** A node of the default domain with no attributes. */
    static ByteBuffer node(String op, List<String> inputs, String output, String name) {
        return node(op, inputs, output, name, null);
    }

    /** {@code output = Gather(data, index, axis)}. */
    static ByteBuffer gather(String data, String index, String output, String name, long axis) {
        return node("Gather", List.of(data, index), output, name, intAttribute("axis", axis));
    }

    /** {@code output = Concat(inputs, axis)}. */
    static ByteBuffer concat(List<String> inputs, String output, String name, long axis) {
        return node("Concat", inputs, output, name, intAttribute("axis", axis));
    }

    /** {@code output = Cast(input, to)}. */
    static ByteBuffer cast(String input, String output, String name, int to) {
        return node("Cast", List.of(input), output, name, intAttribute("to", to));
    }

    /** A Constant node of int64 {@code values}: a vector, or (one value, {@code vector} false) a scalar. */
    static ByteBuffer int64(String output, long[] values, boolean vector) {
        if (!vector && values.length != 1) {
            throw new IllegalArgumentException("a scalar has one value, not " + values.length);
        }
        ByteBuffer raw = ByteBuffer.allocate(values.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            raw.putLong(v);
        }
        return constant(output, vector ? new long[] {values.length} : new long[0], OnnxGraph.DATA_TYPE_INT64, raw.array());
    }

    /** A Constant node of float zeros, {@code [rows, cols]}. */
    static ByteBuffer floatZeros(String output, int rows, int cols) {
        return constant(output, new long[] {rows, cols}, FLOAT, new byte[rows * cols * Float.BYTES]);
    }

    private static ByteBuffer constant(String output, long[] dims, int dataType, byte[] raw) {
        ProtoWire.Writer tensor = new ProtoWire.Writer();
        for (long d : dims) {
            tensor.varintField(OnnxGraph.TENSOR_DIMS, d);
        }
        tensor.varintField(OnnxGraph.TENSOR_DATA_TYPE, dataType);
        tensor.bytesField(OnnxGraph.TENSOR_RAW_DATA, raw);
        byte[] value = new ProtoWire.Writer().stringField(OnnxGraph.ATTR_NAME, "value").bytesField(OnnxGraph.ATTR_T, tensor.toByteArray())
            .varintField(OnnxGraph.ATTR_TYPE, OnnxGraph.ATTR_TYPE_TENSOR).toByteArray();
        return node("Constant", List.of(), output, output + "/Constant", value);
    }

    private static byte[] intAttribute(String name, long value) {
        return new ProtoWire.Writer().stringField(OnnxGraph.ATTR_NAME, name).varintField(OnnxGraph.ATTR_I, value)
            .varintField(OnnxGraph.ATTR_TYPE, OnnxGraph.ATTR_TYPE_INT).toByteArray();
    }

    private static ByteBuffer node(String op, List<String> inputs, String output, String name, byte[] attribute) {
        ProtoWire.Writer w = new ProtoWire.Writer();
        inputs.forEach(i -> w.stringField(OnnxGraph.NODE_INPUT, i));
        w.stringField(OnnxGraph.NODE_OUTPUT, output).stringField(OnnxGraph.NODE_NAME, name).stringField(OnnxGraph.NODE_OP_TYPE, op);
        if (attribute != null) {
            w.bytesField(OnnxGraph.NODE_ATTRIBUTE, attribute);
        }
        return ByteBuffer.wrap(w.toByteArray());
    }
}
