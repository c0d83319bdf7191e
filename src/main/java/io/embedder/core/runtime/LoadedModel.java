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

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A model ready to embed: its spec, tokenizer and ONNX session, checked against each other once at load ({@link ModelLoader}).
 * Thread-safe; shared by every caller on the node.
 *
 * <p>A CLS-pooled model (right padding) runs its dense embeddings on the {@link FirstTokenGraph first-token graph}
 * when the rewrite recognizes its graph and {@link Limits#pruneLastLayer()} allows it: the last layer computes the
 * first token only. Token-level requests need every token's state: they run the full graph, opened by the first of
 * them, which then holds as much native memory again ({@link #estimatedNativeBytes()} counts it).
 */
public final class LoadedModel implements AutoCloseable {

    /**
     * Batching limits ({@code maxBatchSize} texts and {@code tokenBudget} padded tokens per ONNX run), ONNX Runtime
     * threads per run, the largest ONNX file a model may have ({@code maxModelBytes}), how many batches run at once
     * ({@code inferenceThreads}), how many more threads run only query-role work ({@code queryThreads}), and how long
     * a document-role batch that is not full may wait for more texts ({@code maxWaitMicros}), whether a CLS-pooled
     * model's dense embeddings may run its {@link FirstTokenGraph first-token graph} ({@code pruneLastLayer}), and
     * whether the layers' token-wise work may run on the real tokens only ({@code unpad}, {@link UnpaddedGraph}), and
     * which operator {@link Fusion fusions} the graphs get ({@code fusions}).
     */
    public record Limits(int maxBatchSize, int tokenBudget, int intraOpThreads, long maxModelBytes, int inferenceThreads,
                         int queryThreads, long maxWaitMicros, boolean pruneLastLayer, boolean unpad, Set<Fusion> fusions) {

        public static final int DEFAULT_MAX_BATCH_SIZE = 32;
        public static final int DEFAULT_TOKEN_BUDGET = 256;
        public static final int DEFAULT_QUERY_THREADS = 1;
        public static final long DEFAULT_MAX_WAIT_MICROS = 2000;
        public static final long DEFAULT_MAX_MODEL_BYTES = 2L << 30;

        public Limits {
            if (maxBatchSize < 1 || tokenBudget < 1 || intraOpThreads < 1 || inferenceThreads < 1 || queryThreads < 0 || maxWaitMicros < 0) {
                throw new IllegalArgumentException("invalid limits " + maxBatchSize + ", " + tokenBudget + ", " + intraOpThreads + ", "
                    + inferenceThreads + ", " + queryThreads + ", " + maxWaitMicros);
            }
            fusions = Collections.unmodifiableSet(fusions.isEmpty() ? EnumSet.noneOf(Fusion.class) : EnumSet.copyOf(fusions));
        }

        /** With the last layer pruned where it can be, graphs not unpadded, every fusion. */
        public Limits(int maxBatchSize, int tokenBudget, int intraOpThreads, long maxModelBytes, int inferenceThreads,
                      int queryThreads, long maxWaitMicros) {
            this(maxBatchSize, tokenBudget, intraOpThreads, maxModelBytes, inferenceThreads, queryThreads, maxWaitMicros, true, false, EnumSet.allOf(Fusion.class));
        }

        /** With the default query threads and wait, the last layer pruned where it can be, graphs not unpadded, every fusion. */
        public Limits(int maxBatchSize, int tokenBudget, int intraOpThreads, long maxModelBytes, int inferenceThreads) {
            this(maxBatchSize, tokenBudget, intraOpThreads, maxModelBytes, inferenceThreads, DEFAULT_QUERY_THREADS, DEFAULT_MAX_WAIT_MICROS);
        }

        /** These limits with {@code pruneLastLayer} set as given. */
        public Limits withPruneLastLayer(boolean prune) {
            return new Limits(maxBatchSize, tokenBudget, intraOpThreads, maxModelBytes, inferenceThreads, queryThreads, maxWaitMicros, prune, unpad,
                fusions);
        }

        /** These limits with {@code unpad} set as given. */
        public Limits withUnpad(boolean unpadGraphs) {
            return new Limits(maxBatchSize, tokenBudget, intraOpThreads, maxModelBytes, inferenceThreads, queryThreads, maxWaitMicros,
                pruneLastLayer, unpadGraphs, fusions);
        }

        /** These limits with {@code fusions} instead of theirs. */
        public Limits withFusions(Set<Fusion> only) {
            return new Limits(maxBatchSize, tokenBudget, intraOpThreads, maxModelBytes, inferenceThreads, queryThreads, maxWaitMicros,
                pruneLastLayer, unpad, only);
        }

        /** These limits without {@code fusion}. */
        public Limits without(Fusion fusion) {
            Set<Fusion> rest = EnumSet.noneOf(Fusion.class);
            rest.addAll(fusions);
            rest.remove(fusion);
            return withFusions(rest);
        }

        /**
         * Inference threads that fill the cores without oversubscribing them: {@code cores / intraOpThreads} (at least
         * one), each running one batch at a time with {@code intraOpThreads} ONNX Runtime threads.
         */
        public static int defaultInferenceThreads(int cores, int intraOpThreads) {
            return Math.max(1, cores / intraOpThreads);
        }

        /** The defaults for this machine (one ONNX thread per batch, as many batches at once as cores, graphs unpadded). */
        public static Limits defaults() {
            return new Limits(DEFAULT_MAX_BATCH_SIZE, DEFAULT_TOKEN_BUDGET, 1, DEFAULT_MAX_MODEL_BYTES,
                defaultInferenceThreads(Runtime.getRuntime().availableProcessors(), 1), DEFAULT_QUERY_THREADS, DEFAULT_MAX_WAIT_MICROS, true, true,
                EnumSet.allOf(Fusion.class));
        }
    }

    /** ONNX Runtime holds about this many times the graph's file size in native memory once loaded. */
    static final int NATIVE_MEMORY_FACTOR = 2;

    private final ModelSpec spec;
    private final TextTokenizer tokenizer;
    private final Encoder encoder;
    /** What token-level requests run: {@link #encoder} itself, or the full graph beside a first-token graph. */
    private final Encoder tokenEncoder;
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
        /** Runs the padded {@code [batch, seq]} inputs in {@code buffers}, writing the output into {@code buffers.output()}. */
        HiddenStates run(BatchBuffers buffers, int batch, int seq, int dim);

        /** Whether {@link #run} writes one vector per text ({@code [batch, dim]}) rather than token states. */
        default boolean pooled() {
            return false;
        }

        /**
         * What a padded position costs a run, relative to a real token, for {@link BatchPlanner#plan}: 1 for a padded
         * graph, less for an {@link UnpaddedGraph unpadded} one.
         */
        default double paddingCost() {
            return 1.0;
        }

        @Override
        void close();
    }

    LoadedModel(ModelSpec spec, TextTokenizer tokenizer, Encoder encoder, int dimensions, Limits limits) {
        this(spec, tokenizer, encoder, dimensions, limits, 0);
    }

    LoadedModel(ModelSpec spec, TextTokenizer tokenizer, Encoder encoder, int dimensions, Limits limits, long onnxFileBytes) {
        this(spec, tokenizer, encoder, encoder, dimensions, limits, onnxFileBytes);
    }

    LoadedModel(ModelSpec spec, TextTokenizer tokenizer, Encoder encoder, Encoder tokenEncoder, int dimensions, Limits limits,
                long onnxFileBytes) {
        this.spec = spec;
        this.tokenizer = tokenizer;
        this.encoder = encoder;
        this.tokenEncoder = tokenEncoder;
        this.dimensions = dimensions;
        this.limits = limits;
        this.onnxFileBytes = onnxFileBytes;
    }

    /** Loads the tokenizer and graph named by {@code spec} and checks them against it ({@link ModelLoader}). */
    public static LoadedModel load(ModelSpec spec, Limits limits) {
        return ModelLoader.load(spec, limits);
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

    /**
     * Native memory this copy is estimated to hold: the factor the memory guard uses, times its ONNX file, per graph
     * open (two once a token-level request opened the full graph beside the first-token graph).
     */
    public long estimatedNativeBytes() {
        return onnxFileBytes * NATIVE_MEMORY_FACTOR * openGraphs();
    }

    /** ONNX sessions open: 1, or 2 when the full graph runs beside the first-token graph. */
    public int openGraphs() {
        return tokenEncoder instanceof LazyEncoder lazy && lazy.opened() ? 2 : 1;
    }

    /** Whether dense embeddings run the {@link FirstTokenGraph first-token graph}. */
    public boolean firstTokenGraph() {
        return tokenEncoder != encoder;
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

    /**
     * Embeds the texts of {@code params} on the calling thread, after checking the parameters against this model:
     * identical texts once, batches cut from the length-sorted texts by {@link #limits()}. The embedder's scheduler
     * does the same across concurrent requests.
     */
    public Embeddings embed(EmbedParams params) {
        return embed(params, BatchObserver.NONE);
    }

    /** As {@link #embed(EmbedParams)}, telling {@code observer} about each ONNX run. */
    public Embeddings embed(EmbedParams params, BatchObserver observer) {
        EmbedRequest request = new EmbedRequest(this, params, observer);
        int[] lengths = new int[request.size()];
        for (int i = 0; i < lengths.length; i++) {
            lengths[i] = request.text(i).length();
        }
        BatchBuffers buffers = new BatchBuffers();
        for (int[] batch : BatchPlanner.plan(lengths, limits.maxBatchSize(), limits.tokenBudget(), encoder(params.task()).paddingCost())) {
            List<TokenizedText> texts = new ArrayList<>(batch.length);
            for (int i : batch) {
                texts.add(request.text(i));
            }
            HiddenStates states = run(texts, buffers, observer, params.task());
            for (int row = 0; row < batch.length; row++) {
                request.accept(batch[row], states, row);
            }
        }
        return request.result().join();
    }

    Limits limits() {
        return limits;
    }

    /**
     * Checks a request's task and dimensions against this model; returns the output size of task embed.
     *
     * @throws EmbedderException (bad request) naming the parameter and what this model allows
     */
    int checkTask(EmbedParams params) {
        Pooling pooling = spec.pooling().value();
        int outDims = checkDimensions(params);
        if (params.task() == Task.EMBED && pooling == Pooling.ALL) {
            throw EmbedderException.badRequest("model [" + spec.name() + "] has pooling [all] (token-level output): use task [token_embed]");
        }
        if (params.task() == Task.TOKEN_EMBED && pooling == Pooling.NONE) {
            throw EmbedderException.badRequest("model [" + spec.name() + "] has pooling [none] (its graph pools): task [token_embed] needs token states");
        }
        return outDims;
    }

    /** Task {@code token_embed} of a request, checked against this model: how its texts are tokenized and which states are kept. */
    TokenEmbedding tokenEmbedding(EmbedParams params, boolean normalize) {
        return TokenEmbedding.of(spec.name(), spec.tokenEmbed(), params.role(), params.tokens(), normalize, dimensions);
    }

    /** Tokenizes {@code prompt + text} within {@code maxTokens}. */
    TokenizedText tokenize(String prompt, String text, int maxTokens, Truncation truncation) {
        return tokenizer.encode(prompt + text, maxTokens, truncation);
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

    /**
     * The graph that texts of {@code task} run: token-level tasks need every token's state, so the full graph; dense
     * embeddings the first-token graph when there is one. Texts of one batch must share it.
     */
    Encoder encoder(Task task) {
        return task == Task.TOKEN_EMBED ? tokenEncoder : encoder;
    }

    /**
     * Pads {@code texts} to the longest of them (right, or left when the model says so) in {@code buffers}
     * ({@link BatchBuffers#fill}), runs them as one batch on the graph of {@code task} and tells {@code observer}; the
     * states stay in {@code buffers} until their next use.
     */
    HiddenStates run(List<TokenizedText> texts, BatchBuffers buffers, BatchObserver observer, Task task) {
        Encoder graph = encoder(task);
        long start = System.nanoTime();
        int batch = texts.size();
        int seq = 0;
        int realTokens = 0;
        for (TokenizedText t : texts) {
            seq = Math.max(seq, t.length());
            realTokens += t.length();
        }
        boolean pooledGraph = spec.pooling().value() == Pooling.NONE || graph.pooled();
        buffers.fill(texts, seq, spec.leftPadding(), batch * (pooledGraph ? 1 : seq) * dimensions);
        HiddenStates states = graph.run(buffers, batch, seq, dimensions);
        if (states.dim() != dimensions || states.batch() != batch || (!states.pooled() && states.seq() != seq)) {
            throw new EmbedderException(EmbedderException.Kind.INFERENCE_FAILED, "model [" + spec.name() + "] returned shape ["
                + states.batch() + ", " + states.seq() + ", " + states.dim() + "] for a batch of [" + batch + ", " + seq + "]");
        }
        observer.onBatch(batch, realTokens, batch * seq, System.nanoTime() - start);
        return states;
    }

    /** Padding positions before a text's first token in a batch {@code seq} wide: all of them under left padding, else none. */
    int paddingBefore(TokenizedText text, int seq) {
        return spec.leftPadding() ? seq - text.length() : 0;
    }

    /** Row {@code row} pooled by the model's pooling, truncated to {@code outDims}, normalized if asked. */
    float[] pooled(HiddenStates states, int row, boolean normalize, int outDims) {
        float[] v = new float[states.dim()];
        if (states.pooled()) {
            states.data().get(row * states.dim(), v, 0, states.dim());
        } else {
            PoolingKernels.pool(spec.pooling().value(), states.data(), states.mask(), row, states.seq(), states.dim(), v);
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
            try {
                if (tokenEncoder != encoder) {
                    tokenEncoder.close();
                }
            } finally {
                tokenizer.close();
            }
        }
    }
}
