package io.embedder.core.runtime;

import io.embedder.core.runtime.OnnxGraph.Node;
import io.embedder.core.runtime.OnnxGraph.Tensor;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Finds an encoder graph's last self-attention layer and proves that, given only the first token of the layer's
 * input (and the keys and values of all its tokens), the layer computes the first token of the graph's output.
 *
 * <p>How: walking back from {@code output}, the last Softmax is the last layer's attention; the MatMul that reads it
 * takes the values (its second input), the MatMul before it takes the keys. The nodes the keys and values need are
 * the <em>full side</em>, left as they are; the layer input is the last tensor both need (the output of a
 * DynamicQuantizeLinear, in a dynamically quantized graph, with its float input). Every other node the output needs is
 * the <em>query side</em>: it will read the layer input's first token instead. Each query-side node is then checked,
 * in order, to keep tokens apart, tracking where the token axis is (1 in {@code [batch, seq, dim]}, 2 after the heads'
 * transpose): element-wise ops, projections (MatMul by a constant on the last axis), the attention MatMuls (query
 * rows against the full keys and values), Softmax, ReduceMean and LayerNormalization over later axes, Transposes, and
 * Reshapes whose shape keeps every axis up to the token axis (a constant 0, or that axis of the reshaped tensor's own
 * Shape). Any other op on a token tensor, a query-side node reading a tensor computed from the full layer input (a
 * Reshape shape from the full length, say), or more than one Softmax, and the graph is refused, with the reason.
 *
 * <p>Assumed, not proved: the layer input has the output's shape {@code [batch, seq, dim]} (the residual stream),
 * and a computed broadcast input of the query side (the attention mask) has no more axes than what it is combined
 * with. A dynamically quantized query side is {@link Plan#approximate()}: DynamicQuantizeLinear takes its scale over
 * the whole tensor, so on one token it quantizes differently than on all.
 */
final class LastLayer {

    /** Why a graph cannot be rewritten. */
    static final class NotApplicable extends Exception {
        NotApplicable(String reason) {
            super(reason);
        }
    }

    /**
     * What to rewrite: {@code tokenInputs} are the layer inputs the query side reads (the float input, and its
     * quantized form in a quantized graph), {@code querySide} the nodes (by index) that read them or follow them.
     */
    record Plan(Set<String> tokenInputs, BitSet querySide, String output, int queryNodes, boolean approximate) {}

    private static final Set<String> UNARY = Set.of("Erf", "Sqrt", "Tanh", "Relu", "Sigmoid", "Neg", "Exp", "Log", "Abs", "Reciprocal",
        "Identity", "Cast", "Softplus");
    private static final Set<String> BINARY = Set.of("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min");
    /** Ops a query-side node that reads no token tensor may be: shape arithmetic, constants, quantization scales. */
    private static final Set<String> NON_TOKEN = Set.of("Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Mul",
        "Add", "Sub", "Div", "Slice");

    /** Where the token axis of a query-side token tensor is. */
    private record TokenState(int rank, int axis) {}

    private final OnnxGraph graph;
    private final String output;
    private final GraphIndex index;

    private boolean approximate;

    private LastLayer(OnnxGraph graph, String output) {
        this.graph = graph;
        this.output = output;
        this.index = new GraphIndex(graph);
    }

    /** Analyses {@code graph} for graph output {@code output}. */
    static Plan analyse(OnnxGraph graph, String output) throws NotApplicable {
        return new LastLayer(graph, output).plan();
    }

    private Plan plan() throws NotApplicable {
        if (graph.outputs().stream().noneMatch(v -> v.name().equals(output)) || index.producer(output) == null) {
            throw new NotApplicable("the graph has no computed output [" + output + "]");
        }
        Optional<long[]> shape = graph.outputShape(output);
        if (shape.isPresent() && shape.get().length != 3) {
            throw new NotApplicable("output [" + output + "] has rank " + shape.get().length + ", not [batch, seq, dim]");
        }
        if (graph.outputElemType(output) != 1) {
            throw new NotApplicable("output [" + output + "] is not float");
        }
        BitSet needed = index.ancestors(List.of(output));
        Node softmax = index.last(needed, n -> n.opType().equals("Softmax"));
        if (softmax == null) {
            throw new NotApplicable("no Softmax computes output [" + output + "]: not an attention layer");
        }
        List<Node> readers = index.consumers(softmax.outputs().get(0));
        if (readers.size() != 1 || !readers.get(0).opType().equals("MatMul") || !readers.get(0).input(0).equals(softmax.outputs().get(0))) {
            throw new NotApplicable("the last " + softmax + " does not feed exactly one MatMul (the attention's values)");
        }
        Node valuesMatMul = readers.get(0);
        BitSet scoreAncestors = index.ancestors(List.of(softmax.input(0)));
        Node scoresMatMul = index.last(scoreAncestors, n -> n.opType().equals("MatMul") && !index.constantDerived(n.input(0))
            && !index.constantDerived(n.input(1)));
        if (scoresMatMul == null) {
            throw new NotApplicable("no MatMul of two computed tensors before the last " + softmax + " (the attention scores)");
        }
        String keys = scoresMatMul.input(1);
        String values = valuesMatMul.input(1);
        BitSet keySide = index.ancestors(List.of(keys));
        BitSet valueSide = index.ancestors(List.of(values));
        BitSet fullSide = (BitSet) keySide.clone();
        fullSide.or(valueSide);
        BitSet querySide = (BitSet) needed.clone();
        querySide.andNot(fullSide);

        BitSet common = (BitSet) keySide.clone();
        common.and(valueSide);
        Node layerInputNode = index.last(common, n -> n.outputs().stream().noneMatch(index::constantDerived));
        if (layerInputNode == null) {
            throw new NotApplicable("the keys and values of the last attention share no computed input");
        }
        Set<String> tokenInputs = new LinkedHashSet<>();
        Set<String> quantParams = new HashSet<>();
        if (layerInputNode.opType().equals("DynamicQuantizeLinear") && layerInputNode.isDefaultDomain()) {
            tokenInputs.add(layerInputNode.outputs().get(0));
            tokenInputs.add(layerInputNode.input(0));
            quantParams.addAll(layerInputNode.outputs().subList(1, layerInputNode.outputs().size()));
        } else if (layerInputNode.outputs().size() == 1) {
            tokenInputs.add(layerInputNode.outputs().get(0));
        } else {
            throw new NotApplicable("the last attention's input comes from " + layerInputNode + ", which has several outputs");
        }
        Set<String> fromLayerInput = index.descendants(tokenInputs);
        int softmaxes = check(querySide, tokenInputs, quantParams, fromLayerInput, keys, scoresMatMul, values, valuesMatMul);
        if (softmaxes != 1) {
            throw new NotApplicable(softmaxes + " Softmax nodes after the last attention's input: not one attention layer");
        }
        return new Plan(tokenInputs, querySide, output, querySide.cardinality(), approximate);
    }

    /** Checks the query side in order (see the class comment); returns how many Softmax nodes it has. */
    private int check(BitSet querySide, Set<String> tokenInputs, Set<String> quantParams, Set<String> fromLayerInput, String keys,
                      Node scoresMatMul, String values, Node valuesMatMul) throws NotApplicable {
        Map<String, TokenState> tokens = new HashMap<>();
        // computed from a token tensor's Shape: its values change with the number of tokens, so only a Reshape may read it
        Set<String> shapeDerived = new HashSet<>();
        for (String t : tokenInputs) {
            tokens.put(t, new TokenState(3, 1));
        }
        int softmaxes = 0;
        for (int i = querySide.nextSetBit(0); i >= 0; i = querySide.nextSetBit(i + 1)) {
            Node n = graph.nodes().get(i);
            if (!n.isDefaultDomain()) {
                throw new NotApplicable(n + " of domain [" + n.domain() + "] in the last layer");
            }
            for (int k = 0; k < n.inputs().size(); k++) {
                String in = n.input(k);
                boolean outside = !in.isEmpty() && (index.producer(in) == null || !querySide.get(index.producer(in).index()));
                if (!outside || tokenInputs.contains(in) || index.constantDerived(in) || quantParams.contains(in)) {
                    continue;
                }
                if (in.equals(keys) || in.equals(values)) {
                    if ((n == scoresMatMul && k == 1 && in.equals(keys)) || (n == valuesMatMul && k == 1 && in.equals(values))) {
                        continue;
                    }
                    throw new NotApplicable(n + " reads the attention's " + (in.equals(keys) ? "keys" : "values") + " [" + in + "]");
                }
                if (fromLayerInput.contains(in)) {
                    throw new NotApplicable(n + " reads [" + in + "], computed from all tokens of the layer input");
                }
            }
            if (n.opType().equals("Softmax")) {
                softmaxes++;
            }
            List<TokenState> states = new ArrayList<>();
            boolean readsShape = false;
            for (String in : n.inputs()) {
                if (tokens.containsKey(in)) {
                    states.add(tokens.get(in));
                }
                readsShape |= shapeDerived.contains(in);
            }
            if (n.opType().equals("Shape") && !states.isEmpty()) {
                shapeDerived.addAll(n.outputs());
                continue;
            }
            if (states.isEmpty()) {
                if (!NON_TOKEN.contains(n.opType())) {
                    throw new NotApplicable(n + " in the last layer");
                }
                if (readsShape) {
                    shapeDerived.addAll(n.outputs());
                }
                continue;
            }
            if (readsShape && !(n.opType().equals("Reshape") && !shapeDerived.contains(n.input(0)))) {
                throw new NotApplicable(n + " combines token states with a value computed from their shape");
            }
            TokenState out = propagate(n, states, tokens, keys, scoresMatMul, values, valuesMatMul);
            tokens.put(n.outputs().get(0), out);
            if (n.opType().equals("DynamicQuantizeLinear")) {
                approximate = true;
            } else {
                for (String extra : n.outputs().subList(1, n.outputs().size())) {
                    if (!index.consumers(extra).isEmpty()) {
                        throw new NotApplicable(n + " has a second output in use");
                    }
                }
            }
        }
        TokenState last = tokens.get(output);
        if (last == null || !last.equals(new TokenState(3, 1))) {
            throw new NotApplicable("output [" + output + "] does not come out as [batch, seq, dim] tokens of the layer input");
        }
        return softmaxes;
    }

    private TokenState propagate(Node n, List<TokenState> states, Map<String, TokenState> tokens, String keys, Node scoresMatMul,
                                 String values, Node valuesMatMul) throws NotApplicable {
        TokenState t = tokens.get(n.input(0));
        String op = n.opType();
        if (UNARY.contains(op)) {
            return require(t, n, "its first input is not the token tensor");
        }
        if (BINARY.contains(op)) {
            TokenState first = states.get(0);
            for (TokenState s : states) {
                if (!s.equals(first)) {
                    throw new NotApplicable(n + " combines token tensors of different layouts " + states);
                }
            }
            for (String in : n.inputs()) {
                if (!tokens.containsKey(in)) {
                    checkBroadcast(n, in, first);
                }
            }
            return first;
        }
        switch (op) {
            case "MatMul" -> {
                require(t, n, "its first input is not the token tensor");
                String b = n.input(1);
                boolean projection = index.constant(b) != null && index.constant(b).rank() == 2;
                boolean attention = (n == scoresMatMul && b.equals(keys)) || (n == valuesMatMul && b.equals(values));
                if (!projection && !attention) {
                    throw new NotApplicable(n + " multiplies by [" + b + "], neither a weight matrix nor the attention's keys or values");
                }
                return rowsKept(n, t);
            }
            case "MatMulInteger" -> {
                require(t, n, "its first input is not the token tensor");
                if (index.constant(n.input(1)) == null || index.constant(n.input(1)).rank() != 2 || tokens.containsKey(n.input(2))) {
                    throw new NotApplicable(n + " is not a projection by a quantized weight matrix");
                }
                return rowsKept(n, t);
            }
            case "DynamicQuantizeLinear" -> {
                return require(t, n, "");
            }
            case "ReduceMean" -> {
                require(t, n, "");
                if (n.attribute("keepdims").flatMap(OnnxGraph.Attribute::i).orElse(1L) != 1L) {
                    throw new NotApplicable(n + " drops the reduced axes");
                }
                List<Long> axes = graph.opsetVersion() >= 18 ? index.ints(n.input(1)) : n.attribute("axes").map(OnnxGraph.Attribute::ints)
                    .orElse(List.of());
                if (axes == null || axes.isEmpty()) {
                    throw new NotApplicable(n + " reduces over all axes");
                }
                for (long axis : axes) {
                    if (normalize(axis, t.rank()) == t.axis()) {
                        throw new NotApplicable(n + " reduces over the token axis");
                    }
                }
                return t;
            }
            case "Softmax", "LayerNormalization" -> {
                require(t, n, "");
                long fallback = op.equals("Softmax") && graph.opsetVersion() < 13 ? 1 : -1;
                long axis = normalize(n.attribute("axis").flatMap(OnnxGraph.Attribute::i).orElse(fallback), t.rank());
                if (axis <= t.axis()) {
                    throw new NotApplicable(n + " normalizes over axis " + axis + ", not after the token axis " + t.axis());
                }
                for (String in : n.inputs().subList(1, n.inputs().size())) {
                    checkBroadcast(n, in, t);
                }
                return t;
            }
            case "Transpose" -> {
                require(t, n, "");
                List<Long> perm = n.attribute("perm").map(OnnxGraph.Attribute::ints).orElse(List.of());
                if (perm.size() != t.rank()) {
                    throw new NotApplicable(n + " has perm " + perm + " for rank " + t.rank());
                }
                return new TokenState(t.rank(), perm.indexOf((long) t.axis()));
            }
            case "Reshape" -> {
                require(t, n, "");
                return new TokenState(reshapedRank(n, t), t.axis());
            }
            default -> throw new NotApplicable(n + " on a token tensor in the last layer: not known to keep tokens apart");
        }
    }

    private static TokenState require(TokenState t, Node n, String why) throws NotApplicable {
        if (t == null) {
            throw new NotApplicable(n + ": " + (why.isEmpty() ? "its first input is not the token tensor" : why));
        }
        return t;
    }

    /** A MatMul keeps the rows of its first input: the token axis must be a row axis (not the contracted last one). */
    private static TokenState rowsKept(Node n, TokenState t) throws NotApplicable {
        if (t.rank() < 2 || t.axis() != t.rank() - 2) {
            throw new NotApplicable(n + " contracts or batches over the token axis (axis " + t.axis() + " of " + t.rank() + ")");
        }
        return t;
    }

    /** A non-token input of an element-wise op must not add axes, nor have more than one element along the token axis. */
    private void checkBroadcast(Node n, String in, TokenState t) throws NotApplicable {
        Tensor c = index.constant(in);
        if (in.isEmpty() || c == null) {
            return;
        }
        if (c.rank() > t.rank()) {
            throw new NotApplicable(n + " broadcasts [" + in + "] of rank " + c.rank() + " over rank " + t.rank());
        }
        int aligned = t.axis() - (t.rank() - c.rank());
        if (aligned >= 0 && c.dims().get(aligned) != 1) {
            throw new NotApplicable(n + " combines the tokens with [" + in + "], which has " + c.dims().get(aligned) + " along the token axis");
        }
    }

    /**
     * The rank a Reshape gives, once its shape is proved to keep every axis up to the token axis: a constant 0 there
     * (copy the axis), or the reshaped tensor's own size there ({@code Unsqueeze(Gather(Shape(x), i))}).
     */
    private int reshapedRank(Node reshape, TokenState t) throws NotApplicable {
        if (reshape.attribute("allowzero").flatMap(OnnxGraph.Attribute::i).orElse(0L) != 0L) {
            throw new NotApplicable(reshape + " has allowzero");
        }
        String data = reshape.input(0);
        List<Long> fixed = index.ints(reshape.input(1));
        if (fixed != null) {
            for (int k = 0; k <= t.axis(); k++) {
                if (k >= fixed.size() || fixed.get(k) != 0) {
                    throw new NotApplicable(reshape + " has the constant shape " + fixed + ", which does not keep axis " + k);
                }
            }
            return fixed.size();
        }
        Node concat = index.producer(reshape.input(1));
        if (concat == null || !concat.opType().equals("Concat") || concat.attribute("axis").flatMap(OnnxGraph.Attribute::i).orElse(-1L) != 0) {
            throw new NotApplicable(reshape + " takes a shape not built by a Concat");
        }
        for (int k = 0; k < concat.inputs().size(); k++) {
            String piece = concat.input(k);
            List<Long> c = index.ints(piece);
            if (c != null) {
                if (c.size() != 1 || (k <= t.axis() && c.get(0) != 0)) {
                    throw new NotApplicable(reshape + " has shape piece " + k + " = " + c);
                }
                continue;
            }
            if (!isOwnDimension(piece, data, k) && (k <= t.axis() || !isScalarUnsqueezed(piece))) {
                throw new NotApplicable(reshape + ": shape piece " + k + " [" + piece + "] is not axis " + k + " of the reshaped tensor");
            }
        }
        return concat.inputs().size();
    }

    /** Whether {@code piece} is {@code Unsqueeze(Gather(Shape(data), axis), [0])}. */
    private boolean isOwnDimension(String piece, String data, int axis) {
        Node unsqueeze = index.producer(piece);
        if (!isScalarUnsqueezed(piece)) {
            return false;
        }
        Node gather = index.producer(unsqueeze.input(0));
        if (gather == null || !gather.opType().equals("Gather") || gather.attribute("axis").flatMap(OnnxGraph.Attribute::i).orElse(0L) != 0) {
            return false;
        }
        List<Long> at = index.ints(gather.input(1));
        Tensor atTensor = index.constant(gather.input(1));
        Node shape = index.producer(gather.input(0));
        return at != null && at.size() == 1 && at.get(0) == axis && atTensor.rank() == 0 && shape != null
            && shape.opType().equals("Shape") && shape.input(0).equals(data) && shape.attributes().isEmpty();
    }

    /** Whether {@code piece} is an Unsqueeze of a scalar along axis 0: a one-element vector. */
    private boolean isScalarUnsqueezed(String piece) {
        Node unsqueeze = index.producer(piece);
        if (unsqueeze == null || !unsqueeze.opType().equals("Unsqueeze")) {
            return false;
        }
        List<Long> axes = graph.opsetVersion() >= 13 ? index.ints(unsqueeze.input(1))
            : unsqueeze.attribute("axes").map(OnnxGraph.Attribute::ints).orElse(null);
        Node gather = index.producer(unsqueeze.input(0));
        List<Long> at = gather != null && gather.opType().equals("Gather") ? index.ints(gather.input(1)) : null;
        return axes != null && axes.equals(List.of(0L)) && at != null && index.constant(gather.input(1)).rank() == 0;
    }

    private static long normalize(long axis, int rank) {
        return axis < 0 ? axis + rank : axis;
    }
}
