package io.embedder.core.runtime;

import io.embedder.core.EmbedderException;
import io.embedder.core.model.ModelSpec;
import io.embedder.core.pooling.Pooling;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Opens a model's tokenizer and ONNX graph and checks them against its spec and each other, once, before anything is
 * embedded: the graph's size against the memory limits, its output dimension against the declared one, the
 * tokenizer's largest id against the graph's vocabulary, a ColBERT model's projections against the graph's output.
 * Chooses the graph dense embeddings run: the {@link FirstTokenGraph first-token graph} of a CLS model when it applies
 * and runs, else the full graph; either {@link UnpaddedGraph unpadded} when that applies and runs, and either with its
 * operators {@link GraphFusions fused} when that applies and runs. Every failure
 * closes what was opened and names the model.
 */
final class ModelLoader {

    private static final Logger LOG = LogManager.getLogger(ModelLoader.class);

    private ModelLoader() {}

    static LoadedModel load(ModelSpec spec, LoadedModel.Limits limits) {
        long onnxFileBytes = checkMemory(spec, limits.maxModelBytes(), MemoryGuard.freePhysicalBytes());
        TextTokenizer tokenizer = TextTokenizer.load(spec.name(), spec.tokenizerFile());
        OnnxEncoder firstToken;
        OnnxEncoder onnx;
        try {
            firstToken = openFirstTokenGraph(spec, limits, tokenizer);
            onnx = firstToken != null ? firstToken : fullGraph(spec, limits, tokenizer);
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
        int dimensions;
        try {
            dimensions = checkDimensions(spec, onnx);
            probeVocabulary(spec, onnx, dimensions);
            checkProjections(spec, dimensions);
        } catch (RuntimeException e) {
            tokenizer.close();
            onnx.close();
            throw e;
        }
        LoadedModel.Encoder tokens = firstToken == null ? onnx : new LazyEncoder(() -> {
            checkMemory(spec, limits.maxModelBytes(), MemoryGuard.freePhysicalBytes());
            return fullGraph(spec, limits, tokenizer);
        });
        return new LoadedModel(spec, tokenizer, onnx, tokens, dimensions, limits, onnxFileBytes);
    }

    /** The model's graph as it is, or {@link UnpaddedGraph unpadded} when that applies and runs. */
    private static OnnxEncoder fullGraph(ModelSpec spec, LoadedModel.Limits limits, TextTokenizer tokenizer) {
        int rank = spec.pooling().value().outputRank();
        if (limits.unpad() && rank == 3) {
            UnpaddedGraph.Outcome outcome;
            try {
                outcome = UnpaddedGraph.rewrite(spec.onnxFile(), spec.outputName(), false);
            } catch (IOException e) {
                outcome = new UnpaddedGraph.NotApplicable("cannot read [" + spec.onnxFile().getFileName() + "]: " + e);
            }
            if (outcome instanceof UnpaddedGraph.Rewritten r) {
                OnnxEncoder onnx = trial(spec, limits, tokenizer, r.model(), spec.outputName(), rank, UnpaddedGraph.PADDING_COST, "unpadded graph");
                if (onnx != null) {
                    LOG.info("model [{}]: runs its unpadded graph (the token-wise part of {} layers on the real tokens only)", spec.name(), r.unpadded());
                    return onnx;
                }
            } else {
                LOG.info("model [{}]: padded graph: the unpadding rewrite does not apply: {}", spec.name(),
                    ((UnpaddedGraph.NotApplicable) outcome).reason());
            }
        }
        if (!limits.fusions().isEmpty()) {
            GraphFusions.Applied fused = fusedGraph(spec, limits);
            OnnxEncoder onnx = fused == null ? null
                : trialRun(spec, limits, tokenizer, fused.model(), spec.outputName(), rank, 1.0, "graph with fused " + fused.what());
            if (onnx != null) {
                LOG.info("model [{}]: the full graph runs {} fused", spec.name(), fused.what());
                return onnx;
            }
        }
        return OnnxEncoder.load(spec.name(), spec.onnxFile(), spec.outputName(), rank, limits.intraOpThreads());
    }

    /** The model's graph with operators fused, its weights left in the file; null (logged) when none is recognized. */
    private static GraphFusions.Applied fusedGraph(ModelSpec spec, LoadedModel.Limits limits) {
        try (FileChannel channel = FileChannel.open(spec.onnxFile(), StandardOpenOption.READ)) {
            GraphFusions.Applied fused = GraphFusions.apply(channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size()),
                spec.onnxFile().getFileName().toString(), limits.fusions());
            if (fused == null) {
                LOG.info("model [{}]: no operator of its graph is fused: none has a shape the fusions know", spec.name());
            }
            return fused;
        } catch (IOException | IllegalArgumentException e) {
            LOG.warn("model [{}]: operators not fused: cannot rewrite [{}]: {}", spec.name(), spec.onnxFile().getFileName(), e.toString());
            return null;
        }
    }

    /** The graph's output dimension, which a declared one must equal; a dynamic one must be declared. */
    private static int checkDimensions(ModelSpec spec, OnnxEncoder onnx) {
        int graphDims = onnx.declaredDimensions();
        Integer declared = spec.dimensions() == null ? null : spec.dimensions().value();
        if (declared != null && graphDims > 0 && declared != graphDims) {
            throw EmbedderException.invalidModel(spec.name(), spec.dimensions().source() + " says " + declared
                + " dimensions but the ONNX output [" + spec.outputName() + "] has " + graphDims);
        }
        if (declared == null && graphDims <= 0) {
            throw EmbedderException.invalidModel(spec.name(), "the ONNX output's dimension is dynamic: state [dimensions] in embedder-model.json");
        }
        return graphDims > 0 ? graphDims : declared;
    }

    /**
     * The first-token graph, opened and run once on {@link LoadedModel#WARM_UP_TEXTS}; null (logged) when it is not
     * to be used: see {@link #firstTokenGraph}, or ONNX Runtime refuses or fails the rewritten graph. The full graph
     * serves then.
     */
    private static OnnxEncoder openFirstTokenGraph(ModelSpec spec, LoadedModel.Limits limits, TextTokenizer tokenizer) {
        if (limits.unpad()) {
            FirstTokenGraph.Rewritten unpadded = firstTokenGraph(spec, limits, true);
            OnnxEncoder onnx = unpadded == null ? null
                : trial(spec, limits, tokenizer, unpadded.model(), unpadded.output(), 2, UnpaddedGraph.PADDING_COST, "unpadded first-token graph");
            if (onnx != null) {
                return onnx;
            }
        }
        FirstTokenGraph.Rewritten rewritten = firstTokenGraph(spec, limits, false);
        return rewritten == null ? null : trial(spec, limits, tokenizer, rewritten.model(), rewritten.output(), 2, 1.0, "first-token graph");
    }

    /**
     * A session of the rewritten graph {@code model} (its operators {@link GraphFusions fused} as {@code limits} say
     * when that graph runs, else as it is), once it has run {@link LoadedModel#WARM_UP_TEXTS}; null (logged) when ONNX
     * Runtime refuses or fails it: the caller falls back to a graph closer to the file's.
     */
    private static OnnxEncoder trial(ModelSpec spec, LoadedModel.Limits limits, TextTokenizer tokenizer, byte[] model, String output,
                                     int rank, double paddingCost, String what) {
        GraphFusions.Applied fused = GraphFusions.apply(ByteBuffer.wrap(model), null, limits.fusions());
        OnnxEncoder onnx = fused == null ? null
            : trialRun(spec, limits, tokenizer, fused.model(), output, rank, paddingCost, what + " with fused " + fused.what());
        if (onnx != null) {
            LOG.info("model [{}]: the {} runs {} fused", spec.name(), what, fused.what());
            return onnx;
        }
        return trialRun(spec, limits, tokenizer, model, output, rank, paddingCost, what);
    }

    /** {@link #trial} of {@code model} as it is. */
    private static OnnxEncoder trialRun(ModelSpec spec, LoadedModel.Limits limits, TextTokenizer tokenizer, byte[] model, String output,
                                        int rank, double paddingCost, String what) {
        OnnxEncoder onnx;
        try {
            onnx = OnnxEncoder.load(spec.name(), spec.onnxFile(), model, output, rank, limits.intraOpThreads(), paddingCost);
        } catch (EmbedderException e) {
            LOG.warn("model [{}]: not the {}: ONNX Runtime refuses it: {}", spec.name(), what, e.getMessage());
            return null;
        }
        List<TokenizedText> texts = LoadedModel.WARM_UP_TEXTS.stream()
            .map(t -> tokenizer.encode(t, spec.maxTokens().value(), Truncation.MODEL_DEFAULT)).toList();
        int seq = texts.stream().mapToInt(TokenizedText::length).max().orElseThrow();
        int dims = onnx.declaredDimensions() > 0 ? onnx.declaredDimensions()
            : spec.dimensions() != null ? spec.dimensions().value() : -1;
        if (dims <= 0) {
            return onnx; // the dimension check that follows refuses the model
        }
        BatchBuffers buffers = new BatchBuffers();
        buffers.fill(texts, seq, spec.leftPadding(), texts.size() * (rank == 2 ? 1 : seq) * dims);
        try {
            onnx.run(buffers, texts.size(), seq, dims);
        } catch (EmbedderException e) {
            onnx.close();
            LOG.warn("model [{}]: not the {}: it fails on the warm-up texts: {}", spec.name(), what, e.getMessage());
            return null;
        }
        return onnx;
    }

    /**
     * The first-token graph of a CLS-pooled, right-padded model when {@code limits} allow it and the rewrite
     * recognizes the graph; else null. Logs which, and why not.
     */
    static FirstTokenGraph.Rewritten firstTokenGraph(ModelSpec spec, LoadedModel.Limits limits, boolean unpadded) {
        if (!limits.pruneLastLayer() || spec.pooling().value() != Pooling.CLS) {
            return null;
        }
        if (spec.leftPadding()) {
            if (!unpadded) {
                LOG.info("model [{}]: full graph for dense embeddings too: under left padding the first position is padding", spec.name());
            }
            return null;
        }
        FirstTokenGraph.Outcome outcome;
        try {
            if (unpadded) {
                UnpaddedGraph.Outcome u = UnpaddedGraph.rewrite(spec.onnxFile(), spec.outputName(), true);
                if (u instanceof UnpaddedGraph.NotApplicable n) {
                    LOG.info("model [{}]: padded graph: the unpadding rewrite does not apply: {}", spec.name(), n.reason());
                    return null;
                }
                outcome = FirstTokenGraph.rewrite(ByteBuffer.wrap(((UnpaddedGraph.Rewritten) u).model()), spec.outputName());
            } else {
                outcome = FirstTokenGraph.rewrite(spec.onnxFile(), spec.outputName());
            }
        } catch (IOException e) {
            outcome = new FirstTokenGraph.NotApplicable("cannot read [" + spec.onnxFile().getFileName() + "]: " + e);
        }
        if (outcome instanceof FirstTokenGraph.Rewritten r) {
            LOG.info("model [{}]: dense embeddings run the {}first-token graph ({} nodes of the last layer on the first token only{})",
                spec.name(), unpadded ? "unpadded " : "", r.queryNodes(),
                r.approximate() ? "; close to, not equal to, the full graph's: it quantizes activations dynamically" : "");
            return r;
        }
        LOG.warn("model [{}]: full graph for dense embeddings: the first-token rewrite does not apply: {}", spec.name(),
            ((FirstTokenGraph.NotApplicable) outcome).reason());
        return null;
    }

    /**
     * Refuses a model whose graph is over {@code maxModelBytes}, or would need more native memory than is free,
     * before ONNX Runtime allocates anything. Returns the file's size.
     */
    static long checkMemory(ModelSpec spec, long maxModelBytes, long freeBytes) {
        long bytes;
        try {
            bytes = Files.size(spec.onnxFile());
        } catch (IOException e) {
            throw EmbedderException.invalidModel(spec.name(), "cannot read ONNX file [" + spec.onnxFile().getFileName() + "]: " + e);
        }
        if (bytes > maxModelBytes) {
            throw EmbedderException.invalidModel(spec.name(), "ONNX file [" + spec.onnxFile().getFileName() + "] has " + mb(bytes)
                + ", over embedder.model.max_size [" + mb(maxModelBytes) + "]");
        }
        long needed = bytes * LoadedModel.NATIVE_MEMORY_FACTOR;
        if (freeBytes >= 0 && needed > freeBytes) {
            throw EmbedderException.invalidModel(spec.name(), "ONNX file [" + spec.onnxFile().getFileName() + "] has " + mb(bytes)
                + " and needs about " + mb(needed) + " of native memory, but only " + mb(freeBytes) + " is free");
        }
        return bytes;
    }

    private static String mb(long bytes) {
        return (bytes + (1 << 19)) / (1 << 20) + " MB";
    }

    /**
     * Runs the largest token id the tokenizer can produce through the graph once: a tokenizer that does not match
     * the model (a larger vocabulary than its embedding table) fails here, at load, not on some document later.
     */
    private static void probeVocabulary(ModelSpec spec, OnnxEncoder onnx, int dims) {
        if (spec.maxTokenId() < 0) {
            return;
        }
        BatchBuffers buffers = new BatchBuffers();
        buffers.reset(1, dims);
        buffers.ids().put(0, spec.maxTokenId());
        buffers.mask().put(0, 1L);
        try {
            onnx.run(buffers, 1, 1, dims);
        } catch (EmbedderException e) {
            throw EmbedderException.invalidModel(spec.name(), "the tokenizer does not match the ONNX graph: token id " + spec.maxTokenId()
                + " (the largest in " + spec.tokenizerFile().getFileName() + ") fails in the graph: " + e.getMessage());
        }
    }

    /** A ColBERT model's Dense modules must chain from the graph's output size. */
    private static void checkProjections(ModelSpec spec, int hidden) {
        if (spec.tokenEmbed().colbert() == null) {
            return;
        }
        try {
            spec.tokenEmbed().colbert().checkChain(hidden);
        } catch (IllegalArgumentException e) {
            throw EmbedderException.invalidModel(spec.name(), e.getMessage());
        }
    }
}
