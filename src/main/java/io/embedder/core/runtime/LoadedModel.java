package io.embedder.core.runtime;

import io.embedder.core.EmbedParams;
import io.embedder.core.EmbedderException;
import io.embedder.core.Embeddings;
import io.embedder.core.Role;
import io.embedder.core.Task;
import io.embedder.core.lateinteraction.TokenEmbedding;
import io.embedder.core.model.ModelSpec;
import io.embedder.core.pooling.Pooling;
import io.embedder.core.pooling.PoolingKernels;
import io.embedder.core.pooling.VectorOps;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A model ready to embed: its spec, tokenizer and ONNX session, checked against each other once at load.
 * Thread-safe; shared by every caller on the node.
 */
public final class LoadedModel implements AutoCloseable {

    /**
     * Batching limits, ONNX threads per call, the largest ONNX file a model may have ({@code maxModelBytes}), and how
     * many calls may run native code at once ({@code inferenceThreads}).
     */
    public record Limits(int maxBatchSize, int tokenBudget, int intraOpThreads, long maxModelBytes, int inferenceThreads) {}

    /** ONNX Runtime holds about this many times the graph's file size in native memory once loaded. */
    static final int NATIVE_MEMORY_FACTOR = 2;

    private final ModelSpec spec;
    private final TextTokenizer tokenizer;
    private final Encoder encoder;
    private final int dimensions;
    private final Limits limits;
    private final long onnxFileBytes;

    /** Told about every ONNX run, for the stats. */
    @FunctionalInterface
    public interface BatchObserver {
        BatchObserver NONE = (size, realTokens, allTokens, nanos) -> {};

        /**
         * @param size       texts in the batch
         * @param realTokens their tokens (special tokens included)
         * @param allTokens  tokens including padding: size × the longest text
         * @param nanos      time of the ONNX run
         */
        void onBatch(int size, int realTokens, int allTokens, long nanos);
    }

    /** Texts a warm-up runs: a short one, and one long enough for the shapes of typical documents. */
    static final List<String> WARM_UP_TEXTS = List.of("warm-up", ("An embedding model turns a text into a vector, so that texts "
        + "with similar meanings get vectors that lie close together; a search engine can then find documents by meaning rather "
        + "than by their exact words. ").repeat(2));

    /** The part of the ONNX session the pipeline uses; a seam for tests. */
    public interface Encoder extends AutoCloseable {
        HiddenStates run(long[] ids, long[] mask, long[] types, int batch, int seq);

        @Override
        void close();
    }

    LoadedModel(ModelSpec spec, TextTokenizer tokenizer, Encoder encoder, int dimensions, Limits limits) {
        this(spec, tokenizer, encoder, dimensions, limits, 0);
    }

    LoadedModel(ModelSpec spec, TextTokenizer tokenizer, Encoder encoder, int dimensions, Limits limits, long onnxFileBytes) {
        this.spec = spec;
        this.tokenizer = tokenizer;
        this.encoder = encoder;
        this.dimensions = dimensions;
        this.limits = limits;
        this.onnxFileBytes = onnxFileBytes;
    }

    /** Loads the tokenizer and graph named by {@code spec} and checks them against it. */
    public static LoadedModel load(ModelSpec spec, Limits limits) {
        long onnxFileBytes = checkMemory(spec, limits.maxModelBytes(), MemoryGuard.freePhysicalBytes());
        TextTokenizer tokenizer = TextTokenizer.load(spec.name(), spec.tokenizerFile());
        OnnxEncoder onnx;
        try {
            onnx = OnnxEncoder.load(spec.name(), spec.onnxFile(), spec.outputName(), spec.pooling().value().outputRank(), limits.intraOpThreads());
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
        int graphDims = onnx.declaredDimensions();
        Integer declared = spec.dimensions() == null ? null : spec.dimensions().value();
        if (declared != null && graphDims > 0 && declared != graphDims) {
            tokenizer.close();
            onnx.close();
            throw EmbedderException.invalidModel(spec.name(), spec.dimensions().source() + " says " + declared
                + " dimensions but the ONNX output [" + spec.outputName() + "] has " + graphDims);
        }
        if (declared == null && graphDims <= 0) {
            tokenizer.close();
            onnx.close();
            throw EmbedderException.invalidModel(spec.name(), "the ONNX output's dimension is dynamic: state [dimensions] in embedder-model.json");
        }
        probeVocabulary(spec, onnx, tokenizer);
        checkProjections(spec, graphDims > 0 ? graphDims : declared, onnx, tokenizer);
        return new LoadedModel(spec, tokenizer, new Encoder() {
            @Override
            public HiddenStates run(long[] ids, long[] mask, long[] types, int batch, int seq) {
                return onnx.run(ids, mask, types, batch, seq);
            }

            @Override
            public void close() {
                onnx.close();
            }
        }, graphDims > 0 ? graphDims : declared, limits, onnxFileBytes);
    }

    /**
     * Refuses a model whose graph is over {@code maxModelBytes}, or would need more native memory than is free,
     * before ONNX Runtime allocates anything. Returns the file's size.
     */
    static long checkMemory(ModelSpec spec, long maxModelBytes, long freeBytes) {
        long bytes;
        try {
            bytes = java.nio.file.Files.size(spec.onnxFile());
        } catch (java.io.IOException e) {
            throw EmbedderException.invalidModel(spec.name(), "cannot read ONNX file [" + spec.onnxFile().getFileName() + "]: " + e);
        }
        if (bytes > maxModelBytes) {
            throw EmbedderException.invalidModel(spec.name(), "ONNX file [" + spec.onnxFile().getFileName() + "] has " + mb(bytes)
                + ", over embedder.model.max_size [" + mb(maxModelBytes) + "]");
        }
        if (freeBytes >= 0 && bytes * NATIVE_MEMORY_FACTOR > freeBytes) {
            throw EmbedderException.invalidModel(spec.name(), "ONNX file [" + spec.onnxFile().getFileName() + "] has " + mb(bytes)
                + " and needs about " + mb(bytes * NATIVE_MEMORY_FACTOR) + " of native memory, but only " + mb(freeBytes) + " is free");
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
    private static void probeVocabulary(ModelSpec spec, OnnxEncoder onnx, TextTokenizer tokenizer) {
        if (spec.maxTokenId() < 0) {
            return;
        }
        long[] ids = {spec.maxTokenId()};
        try {
            onnx.run(ids, new long[] {1}, new long[] {0}, 1, 1);
        } catch (EmbedderException e) {
            tokenizer.close();
            onnx.close();
            throw EmbedderException.invalidModel(spec.name(), "the tokenizer does not match the ONNX graph: token id " + spec.maxTokenId()
                + " (the largest in " + spec.tokenizerFile().getFileName() + ") fails in the graph: " + e.getMessage());
        }
    }

    /** A ColBERT model's Dense modules must chain from the graph's output size. */
    private static void checkProjections(ModelSpec spec, int hidden, OnnxEncoder onnx, TextTokenizer tokenizer) {
        if (spec.tokenEmbed().colbert() == null) {
            return;
        }
        try {
            spec.tokenEmbed().colbert().checkChain(hidden);
        } catch (IllegalArgumentException e) {
            tokenizer.close();
            onnx.close();
            throw EmbedderException.invalidModel(spec.name(), e.getMessage());
        }
    }

    public ModelSpec spec() {
        return spec;
    }

    public int dimensions() {
        return dimensions;
    }

    /** Size of the ONNX file this copy was loaded from. */
    public long onnxFileBytes() {
        return onnxFileBytes;
    }

    /** Native memory this copy is estimated to hold: the factor the memory guard uses, times its ONNX file. */
    public long estimatedNativeBytes() {
        return onnxFileBytes * NATIVE_MEMORY_FACTOR;
    }

    /**
     * Runs {@link #WARM_UP_TEXTS} through the whole pipeline (tokenizer, graph, pooling) once, so that a model that
     * cannot embed fails at load, not on a document. Counted nowhere. (ONNX Runtime's first-run costs are paid by the
     * load's one-token probe already: WarmUpBench measures no difference on the first request.)
     */
    public void warmUp() {
        Task task = spec.pooling().value() == Pooling.ALL ? Task.TOKEN_EMBED : Task.EMBED;
        embed(new EmbedParams(WARM_UP_TEXTS, task, null, null, null, Truncation.MODEL_DEFAULT), BatchObserver.NONE);
    }

    /** The prompt prefix a role selects: sentence-transformers' {@code encode_query} / {@code encode_document} names. */
    public String prompt(Role role) {
        Map<String, String> prompts = spec.prompts().value();
        if (role == Role.QUERY) {
            return prompts.getOrDefault("query", "");
        }
        if (role == Role.DOCUMENT) {
            for (String name : ModelSpec.DOCUMENT_PROMPT_NAMES) {
                if (prompts.containsKey(name)) {
                    return prompts.get(name);
                }
            }
            return "";
        }
        return spec.defaultPromptName() == null ? "" : prompts.get(spec.defaultPromptName());
    }

    /** Embeds the texts of {@code params} after checking the parameters against this model. */
    public Embeddings embed(EmbedParams params) {
        return embed(params, BatchObserver.NONE);
    }

    /** As {@link #embed(EmbedParams)}, telling {@code observer} about each ONNX run. */
    public Embeddings embed(EmbedParams params, BatchObserver observer) {
        Pooling pooling = spec.pooling().value();
        boolean normalize = params.normalize() != null ? params.normalize() : spec.normalize().value();
        int outDims = checkDimensions(params);
        if (params.task() == Task.EMBED && pooling == Pooling.ALL) {
            throw EmbedderException.badRequest("model [" + spec.name() + "] has pooling [all] (token-level output): use task [token_embed]");
        }
        if (params.task() == Task.TOKEN_EMBED && pooling == Pooling.NONE) {
            throw EmbedderException.badRequest("model [" + spec.name() + "] has pooling [none] (its graph pools): task [token_embed] needs token states");
        }

        TokenEmbedding tokenEmbedding = params.task() == Task.TOKEN_EMBED
            ? TokenEmbedding.of(spec.name(), spec.tokenEmbed(), params.role(), params.tokens(), normalize, dimensions) : null;
        int maxTokens = tokenEmbedding == null ? spec.maxTokens().value() : tokenEmbedding.maxTokens(spec.maxTokens().value());
        String prompt = prompt(params.role());
        List<String> texts = params.texts();
        TokenizedText[] tokenized = new TokenizedText[texts.size()];
        int[] lengths = new int[texts.size()];
        for (int i = 0; i < tokenized.length; i++) {
            try {
                tokenized[i] = tokenizer.encode(prompt + texts.get(i), maxTokens, params.truncation());
            } catch (EmbedderException e) {
                throw new EmbedderException(e.kind(), "[texts][" + i + "]: " + e.getMessage(), e);
            }
            if (tokenEmbedding != null) {
                tokenized[i] = tokenEmbedding.prepare(tokenized[i]);
            }
            lengths[i] = tokenized[i].length();
        }

        float[][] vectors = params.task() == Task.EMBED ? new float[texts.size()][] : null;
        float[][][] tokens = params.task() == Task.TOKEN_EMBED ? new float[texts.size()][][] : null;
        for (int[] batch : BatchPlanner.plan(lengths, limits.maxBatchSize(), limits.tokenBudget())) {
            long start = System.nanoTime();
            HiddenStates states = runBatch(tokenized, batch);
            observer.onBatch(batch.length, tokenCount(lengths, batch, false), tokenCount(lengths, batch, true), System.nanoTime() - start);
            for (int row = 0; row < batch.length; row++) {
                int text = batch[row];
                if (vectors != null) {
                    vectors[text] = pooled(states, row, pooling, normalize, outDims);
                } else {
                    int offset = spec.leftPadding() ? states.seq() - tokenized[text].length() : 0;
                    tokens[text] = tokenEmbedding.vectors(states, row, offset, tokenized[text]);
                }
            }
        }
        return new Embeddings(spec.name(), params.task(), params.task() == Task.EMBED ? outDims : tokenEmbedding.dimensions(),
            vectors == null ? List.of() : Arrays.asList(vectors), tokens == null ? List.of() : Arrays.asList(tokens));
    }

    private int checkDimensions(EmbedParams params) {
        Integer requested = params.dimensions();
        if (requested == null || requested == dimensions) {
            return dimensions;
        }
        List<Integer> allowed = spec.matryoshkaDimensions().value();
        if (allowed.isEmpty()) {
            throw EmbedderException.badRequest("[dimensions] [" + requested + "]: model [" + spec.name() + "] is not declared Matryoshka "
                + "(no matryoshka_dimensions in its embedder-model.json); omit [dimensions] or use " + dimensions);
        }
        if (!allowed.contains(requested)) {
            throw EmbedderException.badRequest("[dimensions] [" + requested + "] is not one of model [" + spec.name()
                + "]'s Matryoshka dimensions " + allowed);
        }
        return requested;
    }

    /** Tokens of the batch's texts, or ({@code padded}) of the padded batch: its size × its longest text. */
    private static int tokenCount(int[] lengths, int[] batch, boolean padded) {
        int sum = 0;
        int longest = 0;
        for (int i : batch) {
            sum += lengths[i];
            longest = Math.max(longest, lengths[i]);
        }
        return padded ? longest * batch.length : sum;
    }

    /** Pads the batch (right, or left when the model says so) and runs it. */
    private HiddenStates runBatch(TokenizedText[] tokenized, int[] batch) {
        int seq = 0;
        for (int i : batch) {
            seq = Math.max(seq, tokenized[i].length());
        }
        long[] ids = new long[batch.length * seq];
        long[] mask = new long[batch.length * seq];
        long[] types = new long[batch.length * seq];
        for (int row = 0; row < batch.length; row++) {
            TokenizedText t = tokenized[batch[row]];
            int offset = row * seq + (spec.leftPadding() ? seq - t.length() : 0);
            System.arraycopy(t.ids(), 0, ids, offset, t.length());
            System.arraycopy(t.typeIds(), 0, types, offset, t.length());
            if (t.attention() == null) {
                Arrays.fill(mask, offset, offset + t.length(), 1L);
            } else {
                System.arraycopy(t.attention(), 0, mask, offset, t.length()); // a ColBERT query's expansion tokens may be unattended
            }
        }
        HiddenStates states = encoder.run(ids, mask, types, batch.length, seq);
        if (states.dim() != dimensions || states.batch() != batch.length || (!states.pooled() && states.seq() != seq)) {
            throw new EmbedderException(EmbedderException.Kind.INFERENCE_FAILED, "model [" + spec.name() + "] returned shape ["
                + states.batch() + ", " + states.seq() + ", " + states.dim() + "] for a batch of [" + batch.length + ", " + seq + "]");
        }
        return states;
    }

    private float[] pooled(HiddenStates states, int row, Pooling pooling, boolean normalize, int outDims) {
        float[] v = new float[states.dim()];
        if (states.pooled()) {
            System.arraycopy(states.data(), row * states.dim(), v, 0, states.dim());
        } else {
            PoolingKernels.pool(pooling, states.data(), states.mask(), row, states.seq(), states.dim(), v);
        }
        // Matryoshka: truncate first, then normalize what is kept (the same direction as normalize, truncate, normalize)
        if (outDims != v.length) {
            v = VectorOps.truncate(v, outDims);
        }
        if (normalize) {
            VectorOps.l2Normalize(v);
        }
        return v;
    }

    @Override
    public void close() {
        try {
            encoder.close();
        } finally {
            tokenizer.close();
        }
    }
}
