package io.embedder.core.runtime;

import io.embedder.core.runtime.OnnxGraph.Node;
import io.embedder.core.runtime.ProtoWire.Field;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One pass of a graph rewrite that replaces chains of nodes by single ONNX Runtime contrib operators
 * ({@link GeluFusion}, {@link LayerNormFusion}): collects the chains, then writes the graph with each chain's last node
 * replaced by its fused node, the chain's other nodes and the Constant nodes only they read dropped, and the contrib
 * operator set imported.
 */
final class NodeFusion {

    /** The operator domain of ONNX Runtime's contrib operators (version 1). */
    static final String CONTRIB_DOMAIN = "com.microsoft";

    /**
     * A rewritten model and the number of chains fused in it.
     *
     * @param model the rewritten model; null when {@code fused} is 0 (nothing to rewrite)
     */
    record Fused(byte[] model, int fused) {}

    private final OnnxGraph graph;
    private final GraphIndex index;
    private final GraphIndex.Names names;
    private final Set<String> graphOutputs = new HashSet<>();
    private final Set<Integer> removed = new HashSet<>();
    private final Map<Integer, ByteBuffer> replaced = new HashMap<>();
    private final Set<String> gone = new HashSet<>();

    /** @throws IllegalArgumentException when the bytes are not a model */
    NodeFusion(ByteBuffer model) {
        this.graph = OnnxGraph.parse(model);
        this.index = new GraphIndex(graph);
        this.names = new GraphIndex.Names(graph);
        graph.outputs().forEach(o -> graphOutputs.add(o.name()));
    }

    OnnxGraph graph() {
        return graph;
    }

    GraphIndex index() {
        return index;
    }

    /** A node name not yet used in the graph, from {@code base}. */
    String uniqueName(String base) {
        return names.unique(base);
    }

    /** Whether the chain can go: none of its nodes but the last makes an output of the graph, none is in another chain. */
    boolean replaceable(List<Node> chain) {
        return chain.stream().noneMatch(n -> removed.contains(n.index()))
            && chain.subList(0, chain.size() - 1).stream().noneMatch(n -> n.outputs().stream().anyMatch(graphOutputs::contains));
    }

    /** Replaces {@code chain} (in graph order; its last node's outputs are the fused node's) by {@code fused}. */
    void replace(List<Node> chain, ByteBuffer fused) {
        Node last = chain.get(chain.size() - 1);
        for (Node n : chain) {
            removed.add(n.index());
            if (n != last) {
                gone.addAll(n.outputs());
            }
        }
        replaced.put(last.index(), fused);
    }

    /**
     * The graph with the chains replaced. Initializers are copied as they are, or with {@code weightsFile} (the name
     * of the file the model is, whole) written as references to their bytes in that file, as {@link OnnxGraph#write}
     * does.
     */
    Fused write(String weightsFile) {
        if (replaced.isEmpty()) {
            return new Fused(null, 0);
        }
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

    /** A node of the contrib domain; {@code attributes} encoded AttributeProtos. */
    static ByteBuffer contribNode(String op, List<String> inputs, String output, String name, List<byte[]> attributes) {
        ProtoWire.Writer w = new ProtoWire.Writer();
        inputs.forEach(i -> w.stringField(OnnxGraph.NODE_INPUT, i));
        w.stringField(OnnxGraph.NODE_OUTPUT, output).stringField(OnnxGraph.NODE_NAME, name).stringField(OnnxGraph.NODE_OP_TYPE, op);
        attributes.forEach(a -> w.bytesField(OnnxGraph.NODE_ATTRIBUTE, a));
        w.stringField(OnnxGraph.NODE_DOMAIN, CONTRIB_DOMAIN);
        return ByteBuffer.wrap(w.toByteArray());
    }

    /** An encoded float AttributeProto, for {@link #contribNode}. */
    static byte[] floatAttribute(String name, float value) {
        return new ProtoWire.Writer().stringField(OnnxGraph.ATTR_NAME, name).floatField(OnnxGraph.ATTR_F, value)
            .varintField(OnnxGraph.ATTR_TYPE, OnnxGraph.ATTR_TYPE_FLOAT).toByteArray();
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
