package io.embedder.core.runtime;

import io.embedder.core.runtime.OnnxGraph.Node;
import io.embedder.core.runtime.OnnxGraph.Tensor;
import io.embedder.core.runtime.ProtoWire.Field;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The lookups the graph rewrites analyse a parsed graph with: which node computes a tensor and which read it, its
 * constants (Constant nodes' values and initializers), the tensors computed from constants only; and walks over them.
 */
final class GraphIndex {

    /** TensorProto.float_data. */
    private static final int TENSOR_FLOAT_DATA = 4;

    private final OnnxGraph graph;
    private final Map<String, Node> producer = new HashMap<>();
    private final Map<String, List<Node>> consumers = new HashMap<>();
    private final Map<String, Tensor> constants = new HashMap<>();
    private final Set<String> constantDerived = new HashSet<>();

    GraphIndex(OnnxGraph graph) {
        this.graph = graph;
        for (Node n : graph.nodes()) {
            for (String o : n.outputs()) {
                producer.put(o, n);
            }
            for (String i : n.inputs()) {
                if (!i.isEmpty()) {
                    consumers.computeIfAbsent(i, k -> new ArrayList<>()).add(n);
                }
            }
            if (n.opType().equals("Constant") && n.isDefaultDomain()) {
                n.attribute("value").flatMap(OnnxGraph.Attribute::t).ifPresent(t -> constants.put(n.outputs().get(0), t));
            }
        }
        constants.putAll(graph.initializers());
        // tensors that depend on no graph input: constants and what is computed from constants only
        constantDerived.addAll(constants.keySet());
        for (Node n : graph.nodes()) {
            if (n.inputs().stream().allMatch(i -> i.isEmpty() || constantDerived.contains(i))) {
                constantDerived.addAll(n.outputs());
            }
        }
    }

    /** The node that computes {@code tensor}, or null (a graph input, an initializer, or no such tensor). */
    Node producer(String tensor) {
        return producer.get(tensor);
    }

    /** The nodes that read {@code tensor}. */
    List<Node> consumers(String tensor) {
        return consumers.getOrDefault(tensor, List.of());
    }

    /** The constant {@code name}, or null when it is not one. */
    Tensor constant(String name) {
        return constants.get(name);
    }

    /** Whether {@code tensor} depends on no graph input. */
    boolean constantDerived(String tensor) {
        return constantDerived.contains(tensor);
    }

    /** The values of a small constant integer tensor, or null when {@code name} is not one. */
    List<Long> ints(String name) {
        Tensor c = constants.get(name);
        if (c == null || c.ints() == null) {
            return null;
        }
        List<Long> out = new ArrayList<>();
        for (long v : c.ints()) {
            out.add(v);
        }
        return out;
    }

    /** The one node reading {@code tensor}, when it is a binary {@code op} of the default domain with one output; else null. */
    Node onlyReader(String tensor, String op) {
        return onlyReader(tensor, op, 2);
    }

    /** The one node reading {@code tensor}, when it is an {@code op} of the default domain with that many inputs and one output. */
    Node onlyReader(String tensor, String op, int inputs) {
        List<Node> readers = consumers(tensor);
        if (readers.size() != 1) {
            return null;
        }
        Node n = readers.get(0);
        return n.opType().equals(op) && n.isDefaultDomain() && n.inputs().size() == inputs && n.outputs().size() == 1 ? n : null;
    }

    /** The input of binary node {@code n} that is not {@code one} (null when both are, or neither). */
    static String otherInput(Node n, String one) {
        if (n.input(0).equals(one)) {
            return n.input(1).equals(one) ? null : n.input(1);
        }
        return n.input(1).equals(one) ? n.input(0) : null;
    }

    /** Whether {@code tensor} is a {@link #floatScalar float scalar} within {@code tolerance} of {@code expected}. */
    boolean floatScalarNear(String tensor, float expected, float tolerance) {
        Optional<Float> value = floatScalar(tensor);
        return value.isPresent() && Math.abs(value.get() - expected) <= tolerance;
    }

    /** The value of {@code tensor} when a Constant node makes it a float scalar or one-element float tensor. */
    Optional<Float> floatScalar(String tensor) {
        Node c = tensor == null ? null : producer(tensor);
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

    /** The node with the largest index in {@code set} that {@code test} accepts, or null. */
    Node last(BitSet set, Predicate<Node> test) {
        for (int i = set.length() - 1; i >= 0; i = set.previousSetBit(i - 1)) {
            if (test.test(graph.nodes().get(i))) {
                return graph.nodes().get(i);
            }
        }
        return null;
    }

    /** Indices of the nodes that {@code tensors} need. */
    BitSet ancestors(List<String> tensors) {
        BitSet seen = new BitSet(graph.nodes().size());
        Deque<String> todo = new ArrayDeque<>(tensors);
        while (!todo.isEmpty()) {
            Node p = producer.get(todo.pop());
            if (p != null && !seen.get(p.index())) {
                seen.set(p.index());
                for (String in : p.inputs()) {
                    if (!in.isEmpty()) {
                        todo.push(in);
                    }
                }
            }
        }
        return seen;
    }

    /** Tensors computed from {@code tensors}, them included. */
    Set<String> descendants(Set<String> tensors) {
        Set<String> seen = new HashSet<>(tensors);
        Deque<String> todo = new ArrayDeque<>(tensors);
        while (!todo.isEmpty()) {
            for (Node c : consumers(todo.pop())) {
                for (String o : c.outputs()) {
                    if (seen.add(o)) {
                        todo.push(o);
                    }
                }
            }
        }
        return seen;
    }

    /** Indices of the nodes that read {@code tensor} or what is computed from it. */
    BitSet descendantNodes(String tensor) {
        BitSet nodes = new BitSet(graph.nodes().size());
        for (String t : descendants(Set.of(tensor))) {
            for (Node c : consumers(t)) {
                nodes.set(c.index());
            }
        }
        return nodes;
    }

    /** Names not yet used in a graph (tensors, nodes, initializers, inputs), for what a rewrite adds to it. */
    static final class Names {
        private final Set<String> used = new HashSet<>();

        Names(OnnxGraph graph) {
            for (Node n : graph.nodes()) {
                used.addAll(n.outputs());
                used.addAll(n.inputs());
                used.add(n.name());
            }
            used.addAll(graph.initializers().keySet());
            graph.inputs().forEach(v -> used.add(v.name()));
        }

        /** {@code base}, or {@code base_k} with the smallest k that is free; used from then on. */
        String unique(String base) {
            String name = base;
            for (int k = 1; used.contains(name); k++) {
                name = base + "_" + k;
            }
            used.add(name);
            return name;
        }
    }
}
