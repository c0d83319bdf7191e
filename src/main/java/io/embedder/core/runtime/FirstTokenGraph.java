package io.embedder.core.runtime;

import io.embedder.core.runtime.OnnxGraph.Node;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Rewrites an encoder's ONNX graph for CLS pooling: its last transformer layer computes the first token only, and its
 * one output is that token's state, {@code [batch, dim]}, equal to {@code output[:, 0, :]} of the original graph.
 *
 * <p>ONNX Runtime runs every node of a graph whatever outputs are asked for, so reading only row 0 of
 * {@code last_hidden_state} still pays the last layer for every token. In that layer only the keys and values need all
 * tokens; the query, the attention of the query over the keys, the attention output, the residuals, the LayerNorms
 * and the feed-forward block are needed for the first token only. The rewrite (see {@link LastLayer} for how the
 * layer is found and checked) inserts a {@code Gather(x, [0], axis=1)} of the layer input, has the query side read
 * it instead of the full input, and ends with a {@code Gather(out, 0, axis=1)}. Nodes that no longer feed the output
 * are dropped; every other field of the model (metadata, unknown fields) is copied as it is, and so are the weights,
 * unless the rewrite is of a file: then they stay in it, referenced as ONNX external data.
 *
 * <p>Under left padding the first position is padding for every text but the longest: callers must use the rewritten
 * graph only with right padding.
 */
public final class FirstTokenGraph {

    /** Name of the rewritten graph's output (suffixed if the graph already has a tensor of that name). */
    public static final String OUTPUT = "first_token_state";

    private FirstTokenGraph() {}

    /** What {@link #rewrite} gives. */
    public sealed interface Outcome permits Rewritten, NotApplicable {}

    /**
     * The rewritten model.
     *
     * @param model       the ONNX bytes, for {@code OrtEnvironment.createSession(byte[])}
     * @param output      its one output, {@code [batch, dim]}
     * @param approximate the query side quantizes activations dynamically (a scale per tensor): on one token it
     *                    quantizes differently than on all, so the output is close to, not equal to, the original's
     * @param queryNodes  nodes of the last layer that now run on the first token only
     * @param weightsFile the file the model's weights stay in, when the rewrite was of a file: its initializers are
     *                    ONNX external data, references to their bytes in that file, so ONNX Runtime must be told its
     *                    directory ({@code session.model_external_initializers_file_folder_path}); null when
     *                    {@code model} holds its weights
     */
    public record Rewritten(byte[] model, String output, boolean approximate, int queryNodes, Path weightsFile) implements Outcome {}

    /** The graph was not recognized; {@code reason} says where the recognition stopped. */
    public record NotApplicable(String reason) implements Outcome {}

    /**
     * {@link #rewrite(ByteBuffer, String)} of a file, mapped rather than read; the weights stay in the file (see
     * {@link Rewritten#weightsFile()}), so the rewritten model is small and the file must not change before a session
     * is made of it.
     */
    public static Outcome rewrite(Path onnxFile, String output) throws IOException {
        try (FileChannel channel = FileChannel.open(onnxFile, StandardOpenOption.READ)) {
            return rewrite(channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size()), output, onnxFile);
        }
    }

    /**
     * Rewrites the ONNX model in {@code model} (position to limit) for graph output {@code output}, a
     * {@code [batch, seq, dim]} token state; never throws for a model it does not recognize, but says why.
     */
    public static Outcome rewrite(ByteBuffer model, String output) {
        return rewrite(model, output, null);
    }

    private static Outcome rewrite(ByteBuffer model, String output, Path weightsFile) {
        OnnxGraph graph;
        try {
            graph = OnnxGraph.parse(model);
        } catch (IllegalArgumentException e) {
            return new NotApplicable("not a readable ONNX model: " + e.getMessage());
        }
        try {
            return new Rewriter(graph, LastLayer.analyse(graph, output)).write(weightsFile);
        } catch (LastLayer.NotApplicable e) {
            return new NotApplicable(e.getMessage());
        } catch (RuntimeException e) {
            // a graph malformed in a way the reader let through (a node without outputs, say): refused, not guessed at
            return new NotApplicable("cannot analyse the graph: " + e);
        }
    }

    /** Applies a {@link LastLayer.Plan}. */
    private static final class Rewriter {
        private final OnnxGraph graph;
        private final LastLayer.Plan plan;
        private final GraphIndex.Names names;

        Rewriter(OnnxGraph graph, LastLayer.Plan plan) {
            this.graph = graph;
            this.plan = plan;
            this.names = new GraphIndex.Names(graph);
        }

        /** A node of the rewritten graph: its inputs and outputs, and its encoding. */
        private record Out(List<String> inputs, List<String> outputs, ByteBuffer encoded) {}

        Rewritten write(Path weightsFile) {
            String firstIndex = names.unique("first_token/index_1d");
            Map<String, String> sliced = new HashMap<>();
            for (String t : plan.tokenInputs()) {
                sliced.put(t, names.unique("first_token/" + t));
            }
            List<Out> nodes = new ArrayList<>();
            boolean indexWritten = false;
            for (Node n : graph.nodes()) {
                if (plan.querySide().get(n.index()) && n.inputs().stream().anyMatch(sliced::containsKey)) {
                    List<String> inputs = n.inputs().stream().map(i -> sliced.getOrDefault(i, i)).toList();
                    nodes.add(new Out(inputs, n.outputs(), GraphNodes.renamed(n, inputs, n.outputs())));
                } else {
                    nodes.add(new Out(n.inputs(), n.outputs(), n.field().value()));
                }
                for (String o : n.outputs()) {
                    if (sliced.containsKey(o)) {
                        if (!indexWritten) {
                            nodes.add(constant(firstIndex, true));
                            indexWritten = true;
                        }
                        nodes.add(gather(o, firstIndex, sliced.get(o)));
                    }
                }
            }
            String output = names.unique(OUTPUT);
            String scalarIndex = names.unique("first_token/index_0d");
            nodes.add(constant(scalarIndex, false));
            nodes.add(gather(plan.output(), scalarIndex, output));
            List<ByteBuffer> kept = new ArrayList<>();
            Set<String> dropped = new HashSet<>();
            BitSet needed = needed(nodes, output);
            for (int i = 0; i < nodes.size(); i++) {
                if (needed.get(i)) {
                    kept.add(nodes.get(i).encoded());
                } else {
                    dropped.addAll(nodes.get(i).outputs());
                }
            }
            Set<String> reshaped = new HashSet<>(dropped);
            for (int i = plan.querySide().nextSetBit(0); i >= 0; i = plan.querySide().nextSetBit(i + 1)) {
                reshaped.addAll(graph.nodes().get(i).outputs());
            }
            byte[] model = graph.write(kept, List.of(outputInfo(output)), reshaped::contains,
                weightsFile == null ? null : weightsFile.getFileName().toString());
            return new Rewritten(model, output, plan.approximate(), plan.queryNodes(), weightsFile);
        }

        /** Indices of the nodes {@code output} needs. */
        private static BitSet needed(List<Out> nodes, String output) {
            Map<String, Integer> producer = new HashMap<>();
            for (int i = 0; i < nodes.size(); i++) {
                for (String o : nodes.get(i).outputs()) {
                    producer.put(o, i);
                }
            }
            BitSet seen = new BitSet(nodes.size());
            Deque<String> todo = new ArrayDeque<>(List.of(output));
            while (!todo.isEmpty()) {
                Integer p = producer.get(todo.pop());
                if (p != null && !seen.get(p)) {
                    seen.set(p);
                    nodes.get(p).inputs().stream().filter(s -> !s.isEmpty()).forEach(todo::push);
                }
            }
            return seen;
        }

        /** A Constant node giving int64 0: as a one-element vector ({@code vector}) or a scalar. */
        private Out constant(String output, boolean vector) {
            return new Out(List.of(), List.of(output), GraphNodes.int64(output, new long[] {0}, vector));
        }

        /** {@code output = Gather(data, index, axis=1)}. */
        private Out gather(String data, String index, String output) {
            return new Out(List.of(data, index), List.of(output), GraphNodes.gather(data, index, output, names.unique(output + "/Gather"), 1));
        }

        /** The new output's ValueInfoProto: float, {@code [batch, dim]} from the original's first and last dimensions. */
        private ByteBuffer outputInfo(String output) {
            ProtoWire.Writer tensorType = new ProtoWire.Writer().varintField(OnnxGraph.TENSOR_TYPE_ELEM_TYPE, graph.outputElemType(plan.output()));
            List<ByteBuffer> dims = graph.outputDims(plan.output());
            if (dims.size() == 3) {
                ProtoWire.Writer shape = new ProtoWire.Writer();
                for (ByteBuffer d : List.of(dims.get(0), dims.get(2))) {
                    byte[] b = new byte[d.remaining()];
                    d.duplicate().get(b);
                    shape.bytesField(OnnxGraph.SHAPE_DIM, b);
                }
                tensorType.bytesField(OnnxGraph.TENSOR_TYPE_SHAPE, shape.toByteArray());
            }
            byte[] type = new ProtoWire.Writer().bytesField(OnnxGraph.TYPE_TENSOR_TYPE, tensorType.toByteArray()).toByteArray();
            return ByteBuffer.wrap(new ProtoWire.Writer().stringField(OnnxGraph.VALUE_INFO_NAME, output)
                .bytesField(OnnxGraph.VALUE_INFO_TYPE, type).toByteArray());
        }
    }
}
