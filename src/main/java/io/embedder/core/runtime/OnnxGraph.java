package io.embedder.core.runtime;

import io.embedder.core.runtime.ProtoWire.Field;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * A read-only view of an ONNX {@code ModelProto}'s main graph, parsed by hand from the wire format (field numbers of
 * onnx.proto): its nodes in file order with their inputs, outputs and attributes, the names and small values of its
 * initializers, its inputs and outputs, and the version of the default operator set. Nothing is copied: each parsed
 * item keeps its bytes in the source buffer, so {@link #write} re-emits every field it is not told to change byte for
 * byte, unknown fields included. Weights are never decoded.
 */
final class OnnxGraph {

    // ModelProto
    static final int MODEL_GRAPH = 7;
    static final int MODEL_OPSET_IMPORT = 8;
    // OperatorSetIdProto
    static final int OPSET_DOMAIN = 1;
    static final int OPSET_VERSION = 2;
    // GraphProto
    static final int GRAPH_NODE = 1;
    static final int GRAPH_INITIALIZER = 5;
    static final int GRAPH_INPUT = 11;
    static final int GRAPH_OUTPUT = 12;
    static final int GRAPH_VALUE_INFO = 13;
    // NodeProto
    static final int NODE_INPUT = 1;
    static final int NODE_OUTPUT = 2;
    static final int NODE_NAME = 3;
    static final int NODE_OP_TYPE = 4;
    static final int NODE_ATTRIBUTE = 5;
    static final int NODE_DOMAIN = 7;
    // AttributeProto
    static final int ATTR_NAME = 1;
    static final int ATTR_F = 2;
    static final int ATTR_I = 3;
    static final int ATTR_T = 5;
    static final int ATTR_INTS = 8;
    static final int ATTR_TYPE = 20;
    static final int ATTR_TYPE_FLOAT = 1;
    static final int ATTR_TYPE_INT = 2;
    static final int ATTR_TYPE_TENSOR = 4;
    // TensorProto
    static final int TENSOR_DIMS = 1;
    static final int TENSOR_DATA_TYPE = 2;
    static final int TENSOR_INT64_DATA = 7;
    static final int TENSOR_NAME = 8;
    static final int TENSOR_RAW_DATA = 9;
    static final int TENSOR_EXTERNAL_DATA = 13;
    static final int TENSOR_DATA_LOCATION = 14;
    static final int DATA_LOCATION_EXTERNAL = 1;
    // StringStringEntryProto
    static final int ENTRY_KEY = 1;
    static final int ENTRY_VALUE = 2;
    static final int DATA_TYPE_INT64 = 7;
    // ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto
    static final int VALUE_INFO_NAME = 1;
    static final int VALUE_INFO_TYPE = 2;
    static final int TYPE_TENSOR_TYPE = 1;
    static final int TENSOR_TYPE_ELEM_TYPE = 1;
    static final int TENSOR_TYPE_SHAPE = 2;
    static final int SHAPE_DIM = 1;

    /** Integer tensors up to this many bytes have their values decoded (shape constants, indices). */
    private static final int SMALL_TENSOR_BYTES = 64;

    /** Initializers of at least this many bytes are written as references into the source file (see {@link #write}). */
    static final int EXTERNAL_MIN_BYTES = 1024;

    /** An attribute of a node: its name and its fields (value fields are read on demand). */
    record Attribute(String name, List<Field> fields) {

        Optional<Long> i() {
            return fields.stream().filter(f -> f.number() == ATTR_I && f.wireType() == ProtoWire.VARINT).findFirst().map(Field::varint);
        }

        List<Long> ints() {
            return ProtoWire.int64s(fields, ATTR_INTS);
        }

        Optional<Tensor> t() {
            return fields.stream().filter(f -> f.number() == ATTR_T && f.wireType() == ProtoWire.LEN).findFirst().map(f -> Tensor.parse(f.value()));
        }
    }

    /** A node, {@code index} its position in the file's node list. */
    record Node(int index, Field field, String name, String opType, String domain, List<String> inputs, List<String> outputs,
                List<Attribute> attributes) {

        Optional<Attribute> attribute(String attributeName) {
            return attributes.stream().filter(a -> a.name().equals(attributeName)).findFirst();
        }

        /** Input {@code i}, or "" when the node has fewer (an omitted optional input is "" in ONNX too). */
        String input(int i) {
            return i < inputs.size() ? inputs.get(i) : "";
        }

        boolean isDefaultDomain() {
            return domain.isEmpty() || domain.equals("ai.onnx");
        }

        @Override
        public String toString() {
            return opType + " [" + (name.isEmpty() ? outputs : name) + "]";
        }
    }

    /**
     * A tensor value: its dims and data type, and its values when it is a small integer tensor ({@code ints} is
     * null otherwise, for weights in particular).
     */
    record Tensor(String name, List<Long> dims, int dataType, long[] ints) {

        static Tensor parse(ByteBuffer message) {
            List<Field> fields = ProtoWire.fields(message);
            String name = "";
            int dataType = 0;
            Field raw = null;
            for (Field f : fields) {
                if (f.number() == TENSOR_NAME && f.wireType() == ProtoWire.LEN) {
                    name = f.string();
                } else if (f.number() == TENSOR_DATA_TYPE && f.wireType() == ProtoWire.VARINT) {
                    dataType = (int) f.varint();
                } else if (f.number() == TENSOR_RAW_DATA && f.wireType() == ProtoWire.LEN) {
                    raw = f;
                }
            }
            List<Long> dims = ProtoWire.int64s(fields, TENSOR_DIMS);
            long[] ints = null;
            if (dataType == DATA_TYPE_INT64) {
                if (raw != null && raw.valueLength() <= SMALL_TENSOR_BYTES && raw.valueLength() % Long.BYTES == 0) {
                    ByteBuffer v = raw.value().order(ByteOrder.LITTLE_ENDIAN);
                    ints = new long[raw.valueLength() / Long.BYTES];
                    for (int k = 0; k < ints.length; k++) {
                        ints[k] = v.getLong(k * Long.BYTES);
                    }
                } else if (raw == null) {
                    List<Long> values = ProtoWire.int64s(fields, TENSOR_INT64_DATA);
                    if (values.size() * Long.BYTES <= SMALL_TENSOR_BYTES) {
                        ints = values.stream().mapToLong(Long::longValue).toArray();
                    }
                }
            }
            return new Tensor(name, dims, dataType, ints);
        }

        int rank() {
            return dims.size();
        }
    }

    /** A graph input or output: its name and its whole field. */
    record ValueInfo(String name, Field field) {}

    private final List<Field> modelFields;
    private final Field graphField;
    private final List<Field> graphFields;
    private final List<Node> nodes = new ArrayList<>();
    private final Map<String, Tensor> initializers = new HashMap<>();
    private final List<ValueInfo> inputs = new ArrayList<>();
    private final List<ValueInfo> outputs = new ArrayList<>();
    private final long opsetVersion;

    private OnnxGraph(List<Field> modelFields, Field graphField, long opsetVersion) {
        this.modelFields = modelFields;
        this.graphField = graphField;
        this.graphFields = graphField.children();
        this.opsetVersion = opsetVersion;
        for (Field f : graphFields) {
            if (f.wireType() != ProtoWire.LEN) {
                continue;
            }
            switch (f.number()) {
                case GRAPH_NODE -> nodes.add(parseNode(nodes.size(), f));
                case GRAPH_INITIALIZER -> {
                    Tensor t = Tensor.parse(f.value());
                    initializers.put(t.name(), t);
                }
                case GRAPH_INPUT -> inputs.add(new ValueInfo(valueInfoName(f), f));
                case GRAPH_OUTPUT -> outputs.add(new ValueInfo(valueInfoName(f), f));
                default -> { }
            }
        }
    }

    /**
     * Parses the model in {@code model} (position to limit; not copied, so it must stay unchanged while this view and
     * what {@link #write} returns are in use).
     *
     * @throws IllegalArgumentException when it is not a model with one main graph
     */
    static OnnxGraph parse(ByteBuffer model) {
        List<Field> fields = ProtoWire.fields(model);
        Field graph = null;
        long opset = -1;
        for (Field f : fields) {
            if (f.number() == MODEL_GRAPH) {
                if (graph != null || f.wireType() != ProtoWire.LEN) {
                    throw new IllegalArgumentException("the model has more than one graph field");
                }
                graph = f;
            } else if (f.number() == MODEL_OPSET_IMPORT && f.wireType() == ProtoWire.LEN) {
                String domain = "";
                long version = -1;
                for (Field o : ProtoWire.fields(f.value())) {
                    if (o.number() == OPSET_DOMAIN && o.wireType() == ProtoWire.LEN) {
                        domain = o.string();
                    } else if (o.number() == OPSET_VERSION && o.wireType() == ProtoWire.VARINT) {
                        version = o.varint();
                    }
                }
                if (domain.isEmpty() || domain.equals("ai.onnx")) {
                    opset = version;
                }
            }
        }
        if (graph == null) {
            throw new IllegalArgumentException("the model has no graph");
        }
        return new OnnxGraph(fields, graph, opset);
    }

    private static Node parseNode(int index, Field field) {
        String name = "";
        String op = "";
        String domain = "";
        List<String> in = new ArrayList<>();
        List<String> out = new ArrayList<>();
        List<Attribute> attributes = new ArrayList<>();
        for (Field f : ProtoWire.fields(field.value())) {
            if (f.wireType() != ProtoWire.LEN) {
                continue;
            }
            switch (f.number()) {
                case NODE_INPUT -> in.add(f.string());
                case NODE_OUTPUT -> out.add(f.string());
                case NODE_NAME -> name = f.string();
                case NODE_OP_TYPE -> op = f.string();
                case NODE_DOMAIN -> domain = f.string();
                case NODE_ATTRIBUTE -> {
                    List<Field> af = ProtoWire.fields(f.value());
                    String an = af.stream().filter(a -> a.number() == ATTR_NAME && a.wireType() == ProtoWire.LEN).findFirst()
                        .map(Field::string).orElse("");
                    attributes.add(new Attribute(an, af));
                }
                default -> { }
            }
        }
        return new Node(index, field, name, op, domain, List.copyOf(in), List.copyOf(out), List.copyOf(attributes));
    }

    private static String valueInfoName(Field f) {
        for (Field v : ProtoWire.fields(f.value())) {
            if (v.number() == VALUE_INFO_NAME && v.wireType() == ProtoWire.LEN) {
                return v.string();
            }
        }
        return "";
    }

    List<Node> nodes() {
        return nodes;
    }

    /** Initializers by name (values decoded only for small integer tensors). */
    Map<String, Tensor> initializers() {
        return initializers;
    }

    List<ValueInfo> inputs() {
        return inputs;
    }

    List<ValueInfo> outputs() {
        return outputs;
    }

    /** Version of the default ("ai.onnx") operator set the model imports, or -1. */
    long opsetVersion() {
        return opsetVersion;
    }

    /**
     * The declared shape of graph output {@code name}: per dimension its value, or -1 when symbolic or unknown; empty
     * when the output declares no shape.
     */
    Optional<long[]> outputShape(String name) {
        for (ValueInfo v : outputs) {
            if (v.name().equals(name)) {
                return shape(v.field());
            }
        }
        return Optional.empty();
    }

    /** The element type of graph output {@code name} (TensorProto.DataType), or 0. */
    int outputElemType(String name) {
        for (ValueInfo v : outputs) {
            if (v.name().equals(name)) {
                Field tensorType = tensorType(v.field());
                if (tensorType != null) {
                    for (Field f : ProtoWire.fields(tensorType.value())) {
                        if (f.number() == TENSOR_TYPE_ELEM_TYPE && f.wireType() == ProtoWire.VARINT) {
                            return (int) f.varint();
                        }
                    }
                }
            }
        }
        return 0;
    }

    /** The encoded Dimension messages of graph output {@code name}'s shape, in order (empty if it declares none). */
    List<ByteBuffer> outputDims(String name) {
        List<ByteBuffer> dims = new ArrayList<>();
        for (ValueInfo v : outputs) {
            if (v.name().equals(name)) {
                Field shape = shapeField(v.field());
                if (shape != null) {
                    for (Field d : ProtoWire.fields(shape.value())) {
                        if (d.number() == SHAPE_DIM && d.wireType() == ProtoWire.LEN) {
                            dims.add(d.value());
                        }
                    }
                }
            }
        }
        return dims;
    }

    private static Optional<long[]> shape(Field valueInfo) {
        Field shape = shapeField(valueInfo);
        if (shape == null) {
            return Optional.empty();
        }
        List<Long> dims = new ArrayList<>();
        for (Field d : ProtoWire.fields(shape.value())) {
            if (d.number() == SHAPE_DIM && d.wireType() == ProtoWire.LEN) {
                long value = -1;
                for (Field x : ProtoWire.fields(d.value())) {
                    if (x.number() == 1 && x.wireType() == ProtoWire.VARINT) {
                        value = x.varint();
                    }
                }
                dims.add(value);
            }
        }
        return Optional.of(dims.stream().mapToLong(Long::longValue).toArray());
    }

    private static Field tensorType(Field valueInfo) {
        for (Field f : ProtoWire.fields(valueInfo.value())) {
            if (f.number() == VALUE_INFO_TYPE && f.wireType() == ProtoWire.LEN) {
                for (Field t : ProtoWire.fields(f.value())) {
                    if (t.number() == TYPE_TENSOR_TYPE && t.wireType() == ProtoWire.LEN) {
                        return t;
                    }
                }
            }
        }
        return null;
    }

    private static Field shapeField(Field valueInfo) {
        Field tensorType = tensorType(valueInfo);
        if (tensorType == null) {
            return null;
        }
        for (Field f : ProtoWire.fields(tensorType.value())) {
            if (f.number() == TENSOR_TYPE_SHAPE && f.wireType() == ProtoWire.LEN) {
                return f;
            }
        }
        return null;
    }

    /**
     * Writes the model with its node list replaced by {@code newNodes} (each an encoded NodeProto, without tag), its
     * outputs by {@code newOutputs} (encoded ValueInfoProtos) and without the value_info entries whose name
     * {@code dropValueInfo} accepts; every other field of the model and the graph is copied byte for byte, in order.
     */
    byte[] write(List<ByteBuffer> newNodes, List<ByteBuffer> newOutputs, Predicate<String> dropValueInfo) {
        return write(newNodes, newOutputs, dropValueInfo, null);
    }

    /**
     * As {@link #write(List, List, Predicate)}, but with {@code weightsFile} (the name of the file this model was parsed
     * from, the whole file) each initializer of {@link #EXTERNAL_MIN_BYTES} or more is written as ONNX external data: a
     * reference to where its bytes are in that file (location, offset, length), its other fields as they were. The
     * model is then a few hundred kilobytes whatever its weights, and valid beside that file only.
     */
    byte[] write(List<ByteBuffer> newNodes, List<ByteBuffer> newOutputs, Predicate<String> dropValueInfo, String weightsFile) {
        List<ByteBuffer> graph = new ArrayList<>();
        boolean nodesWritten = false;
        boolean outputsWritten = false;
        for (Field f : graphFields) {
            if (f.number() == GRAPH_NODE && f.wireType() == ProtoWire.LEN) {
                if (!nodesWritten) {
                    newNodes.forEach(n -> addField(graph, GRAPH_NODE, n));
                    nodesWritten = true;
                }
            } else if (f.number() == GRAPH_OUTPUT && f.wireType() == ProtoWire.LEN) {
                if (!outputsWritten) {
                    newOutputs.forEach(o -> addField(graph, GRAPH_OUTPUT, o));
                    outputsWritten = true;
                }
            } else if (f.number() == GRAPH_VALUE_INFO && f.wireType() == ProtoWire.LEN && dropValueInfo.test(valueInfoName(f))) {
                continue;
            } else if (f.number() == GRAPH_INITIALIZER && f.wireType() == ProtoWire.LEN && weightsFile != null) {
                ByteBuffer external = external(f, weightsFile);
                if (external == null) {
                    graph.add(f.raw());
                } else {
                    addField(graph, GRAPH_INITIALIZER, external);
                }
            } else {
                graph.add(f.raw());
            }
        }
        if (!nodesWritten) {
            newNodes.forEach(n -> addField(graph, GRAPH_NODE, n));
        }
        if (!outputsWritten) {
            newOutputs.forEach(o -> addField(graph, GRAPH_OUTPUT, o));
        }
        long graphLength = 0;
        for (ByteBuffer b : graph) {
            graphLength += b.remaining();
        }
        List<ByteBuffer> model = new ArrayList<>();
        for (Field f : modelFields) {
            if (f == graphField) {
                model.add(ByteBuffer.wrap(ProtoWire.lenPrefix(MODEL_GRAPH, graphLength)));
                model.addAll(graph);
            } else {
                model.add(f.raw());
            }
        }
        long total = 0;
        for (ByteBuffer b : model) {
            total += b.remaining();
        }
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("the rewritten model would have " + total + " bytes, over a protobuf's 2 GB");
        }
        byte[] out = new byte[(int) total];
        int at = 0;
        for (ByteBuffer b : model) {
            int n = b.remaining();
            b.duplicate().get(out, at, n);
            at += n;
        }
        return out;
    }

    /** Initializer {@code f} as a reference to its raw bytes in {@code weightsFile}, or null to keep it as it is. */
    private static ByteBuffer external(Field f, String weightsFile) {
        List<Field> fields = f.children();
        Field raw = null;
        for (Field t : fields) {
            if (t.number() == TENSOR_RAW_DATA && t.wireType() == ProtoWire.LEN) {
                raw = t;
            } else if (t.number() == TENSOR_DATA_LOCATION || t.number() == TENSOR_EXTERNAL_DATA) {
                return null;
            }
        }
        if (raw == null || raw.valueLength() < EXTERNAL_MIN_BYTES) {
            return null;
        }
        ProtoWire.Writer w = new ProtoWire.Writer();
        for (Field t : fields) {
            if (t != raw) {
                w.raw(t.raw());
            }
        }
        w.bytesField(TENSOR_EXTERNAL_DATA, entry("location", weightsFile));
        w.bytesField(TENSOR_EXTERNAL_DATA, entry("offset", Long.toString(raw.absoluteValueStart())));
        w.bytesField(TENSOR_EXTERNAL_DATA, entry("length", Integer.toString(raw.valueLength())));
        w.varintField(TENSOR_DATA_LOCATION, DATA_LOCATION_EXTERNAL);
        return ByteBuffer.wrap(w.toByteArray());
    }

    private static byte[] entry(String key, String value) {
        return new ProtoWire.Writer().stringField(ENTRY_KEY, key).stringField(ENTRY_VALUE, value).toByteArray();
    }

    private static void addField(List<ByteBuffer> out, int number, ByteBuffer message) {
        out.add(ByteBuffer.wrap(ProtoWire.lenPrefix(number, message.remaining())));
        out.add(message.duplicate());
    }
}
