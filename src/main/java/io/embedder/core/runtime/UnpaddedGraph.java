package io.embedder.core.runtime;

import io.embedder.core.runtime.OnnxGraph.Node;
import io.embedder.core.runtime.OnnxGraph.Tensor;

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
 * Rewrites an encoder's ONNX graph so that the token-wise part of each transformer layer runs on the real tokens of
 * the batch only, {@code [tokens, dim]}, not on the padded {@code [batch, seq, dim]}; the output is the original's,
 * with zeros at padded positions.
 *
 * <p>In a padded batch every matrix product pays for the padding, and a batch of short texts of different lengths is
 * a fifth to a third padding unless it is cut small, which costs a fixed price per run (the weights stream through
 * the caches once per run whatever its size). Only the self-attention needs the {@code [batch, seq]} layout; the
 * attention output projection, the residual additions, the LayerNorms and the feed-forward block treat each token on
 * its own, and so do the query, key and value projections. The rewrite keeps each layer's attention (from the
 * projected queries, keys and values to the context that enters the output projection) as it is, fed with the
 * projections scattered back to the padded layout, and runs the rest of the layer on the real tokens, gathered once
 * from the embeddings and from each attention's context. Indices come from the graph's own {@code attention_mask}
 * (any padding side); the graph's inputs and output do not change.
 *
 * <p>How the layers are found: each Softmax is one attention; the MatMul that reads it takes the values, the MatMul
 * of two computed tensors before it the keys; the layer input is the last computed tensor both need; the context is
 * the first input to a MatMul by a weight matrix after the values MatMul. The attention is what the context needs of
 * what the layer input gives, less the projections: the nodes from the layer input that keep tokens apart. Every node
 * between a layer's context (or the embeddings) and the next layer input, or the output, must keep tokens apart on
 * {@code [tokens, dim]}: element-wise ops with scalars or vectors, MatMul by a weight matrix, ReduceMean and
 * LayerNormalization over the last axis. Anything else there (a dynamically quantized graph's DynamicQuantizeLinear,
 * a Reshape, a Shape), or a node outside the layers reading a token-wise tensor, and the graph is refused with the
 * reason.
 */
final class UnpaddedGraph {

    /**
     * What a padded position costs a run of an unpadded graph, relative to a real token: only the attention's scores,
     * softmax and context, and the embeddings, still run padded. Measured on bge-small's first-token graph
     * (UnpaddedGraphBench, 2026-12-04, one thread): 21 texts padded to 13, 16 and 24 tokens (1.13, 1.31 and 1.91
     * padded per real token) ran 0.430, 0.428 and 0.440 ms per real token, where the padded graph ran 0.479, 0.548
     * and 0.794; 0.1 keeps a little of the attention's cost in the cut.
     */
    static final double PADDING_COST = 0.1;

    private UnpaddedGraph() {}

    /** What {@link #rewrite} gives. */
    sealed interface Outcome permits Rewritten, NotApplicable {}

    /**
     * The rewritten model; rewritten from a file, its weights are ONNX external data in that file (ONNX Runtime must
     * be told the file's directory).
     *
     * @param layers      attention layers in the graph
     * @param unpadded    layers whose token-wise part runs on the real tokens only
     */
    record Rewritten(byte[] model, int layers, int unpadded) implements Outcome {}

    /** The graph was not recognized; {@code reason} says where the recognition stopped. */
    record NotApplicable(String reason) implements Outcome {}

    private static final Set<String> UNARY = Set.of("Erf", "Sqrt", "Tanh", "Relu", "Sigmoid", "Neg", "Exp", "Log", "Abs", "Reciprocal",
        "Identity", "Softplus");
    private static final Set<String> BINARY = Set.of("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min");

    /**
     * Rewrites {@code onnxFile} for graph output {@code output}, a {@code [batch, seq, dim]} token state. With
     * {@code keepLastLayer} the last layer stays padded whole, its input given back in {@code [batch, seq, dim]} (for
     * the {@link FirstTokenGraph first-token rewrite}, which needs that layer as it was).
     */
    static Outcome rewrite(Path onnxFile, String output, boolean keepLastLayer) throws IOException {
        try (FileChannel channel = FileChannel.open(onnxFile, StandardOpenOption.READ)) {
            return rewrite(channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size()), output, keepLastLayer,
                onnxFile.getFileName().toString());
        }
    }

    /** {@link #rewrite(Path, String, boolean)} of the model in {@code model} (position to limit); it keeps its weights. */
    static Outcome rewrite(ByteBuffer model, String output, boolean keepLastLayer) {
        return rewrite(model, output, keepLastLayer, null);
    }

    private static Outcome rewrite(ByteBuffer model, String output, boolean keepLastLayer, String weightsFile) {
        OnnxGraph graph;
        try {
            graph = OnnxGraph.parse(model);
        } catch (IllegalArgumentException e) {
            return new NotApplicable("not a readable ONNX model: " + e.getMessage());
        }
        try {
            return new Rewriter(graph, output).rewrite(keepLastLayer, weightsFile);
        } catch (Refused e) {
            return new NotApplicable(e.getMessage());
        } catch (RuntimeException e) {
            // a graph malformed in a way the reader let through: refused, not guessed at
            return new NotApplicable("cannot analyse the graph: " + e);
        }
    }

    private static final class Refused extends Exception {
        Refused(String reason) {
            super(reason);
        }
    }

    /** One attention layer: its input, and the context that enters its output projection. */
    private record Layer(String input, String context, BitSet attention) {}

    private static final class Rewriter {
        private final OnnxGraph graph;
        private final String output;
        private final GraphIndex index;
        private final GraphIndex.Names names;

        Rewriter(OnnxGraph graph, String output) {
            this.graph = graph;
            this.output = output;
            this.index = new GraphIndex(graph);
            this.names = new GraphIndex.Names(graph);
        }

        Rewritten rewrite(boolean keepLastLayer, String weightsFile) throws Refused {
            if (graph.opsetVersion() < 11) {
                throw new Refused("opset " + graph.opsetVersion() + " has no CumSum (11 or later needed)");
            }
            if (graph.outputs().stream().noneMatch(v -> v.name().equals(output)) || index.producer(output) == null) {
                throw new Refused("the graph has no computed output [" + output + "]");
            }
            if (graph.outputElemType(output) != 1) {
                throw new Refused("output [" + output + "] is not float");
            }
            if (graph.inputs().stream().noneMatch(v -> v.name().equals(OnnxEncoder.ATTENTION_MASK))) {
                throw new Refused("the graph has no input [" + OnnxEncoder.ATTENTION_MASK + "]");
            }
            BitSet needed = index.ancestors(List.of(output));
            List<Layer> layers = new ArrayList<>();
            int hidden = -1;
            for (int i = needed.nextSetBit(0); i >= 0; i = needed.nextSetBit(i + 1)) {
                Node n = graph.nodes().get(i);
                if (n.opType().equals("Softmax")) {
                    Layer layer = layer(n);
                    int dim = hiddenSize(layer);
                    if (hidden >= 0 && dim != hidden) {
                        throw new Refused("the layers project contexts of " + hidden + " and " + dim + " dimensions");
                    }
                    hidden = dim;
                    layers.add(layer);
                }
            }
            if (layers.isEmpty()) {
                throw new Refused("no Softmax computes output [" + output + "]: not an attention encoder");
            }
            int unpadded = keepLastLayer ? layers.size() - 1 : layers.size();
            if (unpadded < 1) {
                throw new Refused("one layer only, and it stays padded");
            }
            String end = unpadded < layers.size() ? layers.get(unpadded).input() : output;
            long[] outShape = graph.outputShape(output).orElse(null);
            if (outShape != null && (outShape.length != 3 || (outShape[2] > 0 && outShape[2] != hidden))) {
                throw new Refused("output [" + output + "] is not [batch, seq, " + hidden + "]");
            }
            // the token-wise nodes: from the first layer input to the end, but the attentions; of each attention, the
            // projections of its input (the query, key and value MatMuls and their biases) are token-wise too
            BitSet tokenWise = index.ancestors(List.of(end));
            tokenWise.and(index.descendantNodes(layers.get(0).input()));
            BitSet attentions = new BitSet();
            for (int l = 0; l < unpadded; l++) {
                Layer layer = layers.get(l);
                BitSet attention = (BitSet) layer.attention().clone();
                Set<String> tokens = new HashSet<>(List.of(layer.input()));
                for (int i = attention.nextSetBit(0); i >= 0; i = attention.nextSetBit(i + 1)) {
                    Node n = graph.nodes().get(i);
                    if (n.inputs().stream().anyMatch(tokens::contains) && refusal(n, tokens) == null) {
                        tokens.addAll(n.outputs());
                        attention.clear(i);
                    }
                }
                attentions.or(attention);
            }
            tokenWise.andNot(attentions);
            return write(layers, unpadded, tokenWise, attentions, end, hidden, weightsFile);
        }

        /** The layer whose attention {@code softmax} is. */
        private Layer layer(Node softmax) throws Refused {
            List<Node> readers = index.consumers(softmax.outputs().get(0));
            if (readers.size() != 1 || !readers.get(0).opType().equals("MatMul") || !readers.get(0).input(0).equals(softmax.outputs().get(0))) {
                throw new Refused(softmax + " does not feed exactly one MatMul (the attention's values)");
            }
            Node valuesMatMul = readers.get(0);
            BitSet scoreAncestors = index.ancestors(List.of(softmax.input(0)));
            Node scoresMatMul = index.last(scoreAncestors, n -> n.opType().equals("MatMul") && !index.constantDerived(n.input(0))
                && !index.constantDerived(n.input(1)));
            if (scoresMatMul == null) {
                throw new Refused("no MatMul of two computed tensors before " + softmax + " (the attention scores)");
            }
            BitSet common = index.ancestors(List.of(scoresMatMul.input(1)));
            common.and(index.ancestors(List.of(valuesMatMul.input(1))));
            Node inputNode = index.last(common, n -> n.outputs().stream().noneMatch(index::constantDerived));
            if (inputNode == null || inputNode.outputs().size() != 1) {
                throw new Refused("the keys and values of " + softmax + " share no single computed input");
            }
            String input = inputNode.outputs().get(0);
            Node projection = null;
            Deque<String> todo = new ArrayDeque<>(valuesMatMul.outputs());
            Set<String> seen = new HashSet<>();
            while (!todo.isEmpty()) {
                for (Node c : index.consumers(todo.pop())) {
                    if (c.opType().equals("MatMul") && isWeight(c.input(1))) {
                        if (projection == null || c.index() < projection.index()) {
                            projection = c;
                        }
                    } else {
                        c.outputs().stream().filter(seen::add).forEach(todo::push);
                    }
                }
            }
            if (projection == null) {
                throw new Refused("no MatMul by a weight matrix after " + valuesMatMul + " (the attention's output projection)");
            }
            String context = projection.input(0);
            BitSet attention = index.ancestors(List.of(context));
            attention.and(index.descendantNodes(input));
            return new Layer(input, context, attention);
        }

        /** The rows of the weight that projects the layer's context: the hidden size. */
        private int hiddenSize(Layer layer) throws Refused {
            for (Node c : index.consumers(layer.context())) {
                if (c.opType().equals("MatMul") && isWeight(c.input(1))) {
                    return Math.toIntExact(index.constant(c.input(1)).dims().get(0));
                }
            }
            throw new Refused("no projection of [" + layer.context() + "]");
        }

        private boolean isWeight(String name) {
            Tensor t = index.constant(name);
            return t != null && t.rank() == 2 && t.dataType() == 1;
        }

        private Rewritten write(List<Layer> layers, int unpadded, BitSet tokenWise, BitSet attentions, String end, int hidden,
                                String weightsFile) throws Refused {
            String realIndex = names.unique("unpadded/real_index");
            String anyIndex = names.unique("unpadded/padded_index");
            String zeroIndex = names.unique("unpadded/padded_index_zeros");
            String shape3 = names.unique("unpadded/shape");
            String rows = names.unique("unpadded/rows_shape");
            String first = layers.get(0).input();
            // padded tensors read token-wise: gathered to [tokens, dim] once, right after they are computed
            Map<String, String> unpaddedOf = new HashMap<>();
            unpaddedOf.put(first, names.unique("unpadded/" + first));
            for (int l = 0; l < unpadded; l++) {
                unpaddedOf.put(layers.get(l).context(), names.unique("unpadded/" + layers.get(l).context()));
            }
            // the token-wise tensors, [tokens, dim] in the rewritten graph (but the end, given back padded)
            Set<String> changed = new HashSet<>();
            for (int i = tokenWise.nextSetBit(0); i >= 0; i = tokenWise.nextSetBit(i + 1)) {
                changed.addAll(graph.nodes().get(i).outputs());
            }
            if (!changed.contains(end)) {
                throw new Refused("[" + end + "] is not computed token-wise from the layers");
            }
            Set<String> tokenTensors = new HashSet<>(changed);
            tokenTensors.addAll(unpaddedOf.keySet());
            changed.remove(end);
            // token-wise tensors an attention reads: scattered back to [batch, seq, dim] once, right after they are computed
            Map<String, String> paddedOf = new HashMap<>();
            for (int i = attentions.nextSetBit(0); i >= 0; i = attentions.nextSetBit(i + 1)) {
                for (String in : graph.nodes().get(i).inputs()) {
                    if (changed.contains(in)) {
                        paddedOf.computeIfAbsent(in, t -> names.unique("padded/" + t));
                    }
                }
            }
            String endUnpadded = names.unique("unpadded/" + end);
            List<ByteBuffer> nodes = new ArrayList<>();
            for (Node n : graph.nodes()) {
                List<String> inputs = new ArrayList<>(n.inputs());
                if (tokenWise.get(n.index())) {
                    String refusal = refusal(n, tokenTensors);
                    if (refusal != null) {
                        throw new Refused(refusal);
                    }
                    inputs.replaceAll(in -> unpaddedOf.getOrDefault(in, in));
                } else if (attentions.get(n.index())) {
                    inputs.replaceAll(in -> paddedOf.getOrDefault(in, in));
                } else {
                    for (String in : n.inputs()) {
                        if (changed.contains(in)) {
                            throw new Refused(n + " reads [" + in + "], computed token-wise, outside the layers");
                        }
                    }
                }
                List<String> outputs = new ArrayList<>(n.outputs());
                outputs.replaceAll(o -> o.equals(end) ? endUnpadded : o);
                nodes.add(inputs.equals(n.inputs()) && outputs.equals(n.outputs()) ? n.field().value() : GraphNodes.renamed(n, inputs, outputs));
                for (String o : n.outputs()) {
                    if (o.equals(first)) {
                        indices(nodes, first, realIndex, anyIndex, zeroIndex, shape3, rows, hidden);
                    }
                    if (unpaddedOf.containsKey(o)) {
                        String flat = names.unique("unpadded/flat_" + o);
                        nodes.add(GraphNodes.node("Reshape", List.of(o, rows), flat, names.unique(flat)));
                        nodes.add(GraphNodes.gather(flat, realIndex, unpaddedOf.get(o), names.unique(unpaddedOf.get(o)), 0));
                    }
                    if (paddedOf.containsKey(o)) {
                        String gathered = names.unique("padded/rows_" + o);
                        nodes.add(GraphNodes.gather(o, anyIndex, gathered, names.unique(gathered), 0));
                        nodes.add(GraphNodes.node("Reshape", List.of(gathered, shape3), paddedOf.get(o), names.unique(paddedOf.get(o))));
                    }
                    if (o.equals(end)) {
                        String zeros = names.unique("unpadded/zero_row");
                        nodes.add(GraphNodes.floatZeros(zeros, 1, hidden));
                        String withZeros = names.unique("unpadded/with_zero_row");
                        nodes.add(GraphNodes.concat(List.of(endUnpadded, zeros), withZeros, names.unique(withZeros), 0));
                        String gathered = names.unique("padded/rows_" + end);
                        nodes.add(GraphNodes.gather(withZeros, zeroIndex, gathered, names.unique(gathered), 0));
                        nodes.add(GraphNodes.node("Reshape", List.of(gathered, shape3), end, names.unique(end + "/Reshape")));
                    }
                }
            }
            byte[] model = graph.write(nodes, graph.outputs().stream().map(v -> v.field().value()).toList(),
                changed::contains, weightsFile);
            return new Rewritten(model, layers.size(), unpadded);
        }

        /**
         * The batch's indices, from the attention mask: {@code real} the flat positions of its real tokens, in order;
         * {@code any} for each flat position its token's row in {@code [tokens, dim]} (0 for padding: any real row
         * will do where the attention masks it), {@code zero} the same but the row past the last for padding (a zero
         * row there gives zeros); {@code shape} the padded {@code [batch, seq, dim]}, {@code rows} {@code [-1, dim]}.
         */
        private void indices(List<ByteBuffer> nodes, String padded, String real, String any, String zero, String shape, String rows, int hidden) {
            String flatMask = names.unique("unpadded/mask_flat");
            String minusOne = names.unique("unpadded/minus_one");
            nodes.add(GraphNodes.int64(minusOne, new long[] {-1}, true));
            nodes.add(GraphNodes.node("Reshape", List.of(OnnxEncoder.ATTENTION_MASK, minusOne), flatMask, names.unique(flatMask)));
            String nonZero = names.unique("unpadded/non_zero");
            nodes.add(GraphNodes.node("NonZero", List.of(flatMask), nonZero, names.unique(nonZero)));
            nodes.add(GraphNodes.node("Reshape", List.of(nonZero, minusOne), real, names.unique(real)));
            String axis = names.unique("unpadded/axis_0");
            nodes.add(GraphNodes.int64(axis, new long[] {0}, false));
            String count = names.unique("unpadded/cumulative");
            nodes.add(GraphNodes.node("CumSum", List.of(flatMask, axis), count, names.unique(count)));
            String one = names.unique("unpadded/one");
            nodes.add(GraphNodes.int64(one, new long[] {1}, false));
            String position = names.unique("unpadded/position");
            nodes.add(GraphNodes.node("Sub", List.of(count, one), position, names.unique(position)));
            String isReal = names.unique("unpadded/is_real");
            nodes.add(GraphNodes.cast(flatMask, isReal, names.unique(isReal), GraphNodes.BOOL));
            String zeroScalar = names.unique("unpadded/zero");
            nodes.add(GraphNodes.int64(zeroScalar, new long[] {0}, false));
            nodes.add(GraphNodes.node("Where", List.of(isReal, position, zeroScalar), any, names.unique(any)));
            String tokens = names.unique("unpadded/tokens");
            nodes.add(GraphNodes.node("Shape", List.of(real), tokens, names.unique(tokens)));
            nodes.add(GraphNodes.node("Where", List.of(isReal, position, tokens), zero, names.unique(zero)));
            nodes.add(GraphNodes.node("Shape", List.of(padded), shape, names.unique(shape)));
            nodes.add(GraphNodes.int64(rows, new long[] {-1, hidden}, true));
        }

        /**
         * Why {@code n} does not treat each row of {@code [tokens, dim]} on its own, reading {@code tokenTensors}; null
         * when it does.
         */
        private String refusal(Node n, Set<String> tokenTensors) {
            if (!n.isDefaultDomain()) {
                return n + " of domain [" + n.domain() + "] between the attentions";
            }
            String op = n.opType();
            if (UNARY.contains(op) || BINARY.contains(op)) {
                for (String in : n.inputs()) {
                    if (!tokenTensors.contains(in) && !isSmallConstant(in)) {
                        return n + " combines the tokens with [" + in + "], neither a token tensor nor a scalar or vector constant";
                    }
                }
                return UNARY.contains(op) && !tokenTensors.contains(n.input(0)) ? n + ": its input is not the token tensor" : null;
            }
            switch (op) {
                case "MatMul" -> {
                    return tokenTensors.contains(n.input(0)) && isWeight(n.input(1)) ? null : n + " is not a projection of the tokens by a weight matrix";
                }
                case "ReduceMean" -> {
                    List<Long> axes = graph.opsetVersion() >= 18 ? index.ints(n.input(1)) : n.attribute("axes").map(OnnxGraph.Attribute::ints).orElse(null);
                    boolean lastAxis = tokenTensors.contains(n.input(0)) && axes != null && axes.equals(List.of(-1L))
                        && n.attribute("keepdims").flatMap(OnnxGraph.Attribute::i).orElse(1L) == 1L;
                    return lastAxis ? null : n + " is not a mean over the last axis, kept";
                }
                case "LayerNormalization" -> {
                    if (!tokenTensors.contains(n.input(0)) || n.attribute("axis").flatMap(OnnxGraph.Attribute::i).orElse(-1L) != -1L
                        || n.outputs().size() > 1) {
                        return n + " is not a LayerNormalization over the last axis";
                    }
                    for (String in : n.inputs().subList(1, n.inputs().size())) {
                        if (!isSmallConstant(in)) {
                            return n + " takes [" + in + "], not a vector constant";
                        }
                    }
                    return null;
                }
                default -> {
                    return n + " between the attentions: not known to keep tokens apart";
                }
            }
        }

        private boolean isSmallConstant(String in) {
            Tensor t = index.constant(in);
            return t != null && t.rank() <= 1;
        }
    }
}
