package io.embedder.plugin;

import io.embedder.core.runtime.Fusion;
import io.embedder.core.runtime.LoadedModel;
import org.opensearch.common.settings.Setting;
import org.opensearch.common.settings.Setting.Property;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.core.common.unit.ByteSizeUnit;
import org.opensearch.core.common.unit.ByteSizeValue;

import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Node settings of the plugin ({@code opensearch.yml}). */
public final class EmbedderSettings {

    private EmbedderSettings() {}

    /**
     * Thread pool whose threads wait for query-time inference ({@code text_knn}) and {@code _embed}; REST and
     * transport threads never embed. Its bounded queue answers 429 when full.
     */
    public static final String THREAD_POOL = "embedder";

    /** Thread pool whose threads wait for the {@code embed} ingest processor's inference, so bulks never queue searches. */
    public static final String INGEST_THREAD_POOL = "embedder_ingest";

    public static final Setting<String> DEFAULT_MODEL =
        Setting.simpleString("embedder.default_model", "bge-small-en-v1.5", Property.NodeScope);

    public static final Setting<Integer> INTRA_OP_THREADS =
        Setting.intSetting("embedder.inference.intra_op_threads", 1, 1, 64, Property.NodeScope);

    /** Batches that run at once: by default cores / intra_op_threads, so they do not oversubscribe the cores. */
    public static final Setting<Integer> INFERENCE_THREADS = new Setting<>("embedder.inference.threads",
        s -> Integer.toString(LoadedModel.Limits.defaultInferenceThreads(Runtime.getRuntime().availableProcessors(), INTRA_OP_THREADS.get(s))),
        v -> Setting.parseInt(v, 1, 1024, "embedder.inference.threads"), Property.NodeScope);

    /** Threads that run only query-role inference, so a search never waits behind an ingest batch already running. */
    public static final Setting<Integer> QUERY_THREADS =
        Setting.intSetting("embedder.inference.query_threads", LoadedModel.Limits.DEFAULT_QUERY_THREADS, 0, 64, Property.NodeScope);

    public static final Setting<Integer> MAX_BATCH_SIZE =
        Setting.intSetting("embedder.batch.max_size", LoadedModel.Limits.DEFAULT_MAX_BATCH_SIZE, 1, 1024, Property.NodeScope);

    public static final Setting<Integer> TOKEN_BUDGET =
        Setting.intSetting("embedder.batch.token_budget", LoadedModel.Limits.DEFAULT_TOKEN_BUDGET, 16, 1 << 20, Property.NodeScope);

    /** How long a document batch that is not full waits for texts of other requests. */
    public static final Setting<TimeValue> MAX_WAIT = Setting.timeSetting("embedder.batch.max_wait",
        TimeValue.timeValueNanos(LoadedModel.Limits.DEFAULT_MAX_WAIT_MICROS * 1000), TimeValue.ZERO, Property.NodeScope);

    /** Largest ONNX file a model may have; a larger one is refused at load, before any native allocation. */
    public static final Setting<ByteSizeValue> MODEL_MAX_SIZE =
        Setting.byteSizeSetting("embedder.model.max_size", new ByteSizeValue(2, ByteSizeUnit.GB), Property.NodeScope);

    /**
     * Whether a CLS-pooled model's dense embeddings run its first-token graph, whose last layer computes the first
     * token only (about 7% fewer FLOPs on 168-token texts); token-level requests then open the full graph beside it,
     * as much native memory again. Off: one full graph serves everything.
     */
    public static final Setting<Boolean> PRUNE_LAST_LAYER =
        Setting.boolSetting("embedder.inference.prune_last_layer", true, Property.NodeScope);

    /**
     * Whether each layer's token-wise work (projections, feed-forward block, LayerNorms) runs on the real tokens of a
     * batch only, not on its padding, where the graph is recognized (fp32 encoders); only the attention then pays for
     * padding, and batches of short texts are cut larger. On by default: with the fused operators, through the
     * scheduler with two inference threads, 1.06 to 1.09x the titles per second of the padded graph in three runs,
     * abstracts alike (BENCHMARKS.md "Unpadded graph").
     */
    public static final Setting<Boolean> UNPAD =
        Setting.boolSetting("embedder.inference.unpad", true, Property.NodeScope);

    /**
     * Whether each exact GELU of a model's graph (five element-wise nodes as PyTorch exports it) runs as ONNX Runtime's
     * one-pass {@code Gelu} operator: the same function, 5% less CPU per run on bge-small (BENCHMARKS.md "Fused GELU").
     * Off: the graph's own nodes.
     */
    public static final Setting<Boolean> FUSE_GELU =
        Setting.boolSetting("embedder.inference.fuse_gelu", true, Property.NodeScope);

    /**
     * Whether each residual Add and the LayerNorm after it (ten element-wise and reduction nodes as PyTorch exports
     * them) run as ONNX Runtime's one-pass {@code SkipLayerNormalization} operator: the same function, 2 to 3% less CPU
     * per run on bge-small (BENCHMARKS.md "Fused LayerNorm and attention scale"). Off: the graph's own nodes.
     */
    public static final Setting<Boolean> FUSE_LAYER_NORM =
        Setting.boolSetting("embedder.inference.fuse_layer_norm", true, Property.NodeScope);

    /**
     * Whether each matrix product scaled by a constant (the attention scores divided by √head_dim) runs as ONNX
     * Runtime's {@code FusedMatMul}, which scales inside the product instead of in a second pass over the scores: the
     * same function, 1.5 to 2% less CPU per run on long texts (BENCHMARKS.md "Fused LayerNorm and attention scale").
     * Off: the graph's own MatMul and Div.
     */
    public static final Setting<Boolean> FUSE_MATMUL_SCALE =
        Setting.boolSetting("embedder.inference.fuse_matmul_scale", true, Property.NodeScope);

    /** The setting that turns each fusion on or off. */
    private static final Map<Fusion, Setting<Boolean>> FUSION_SETTINGS =
        Map.of(Fusion.GELU, FUSE_GELU, Fusion.LAYER_NORM, FUSE_LAYER_NORM, Fusion.MATMUL_SCALE, FUSE_MATMUL_SCALE);

    /** Models loaded and warmed up when the node starts, so that their first request does not wait for a load. */
    public static final Setting<List<String>> PRELOAD_MODELS =
        Setting.listSetting("embedder.preload_models", List.of(), s -> s, Property.NodeScope);

    public static List<Setting<?>> all() {
        return List.of(DEFAULT_MODEL, INTRA_OP_THREADS, INFERENCE_THREADS, QUERY_THREADS, MAX_BATCH_SIZE, TOKEN_BUDGET, MAX_WAIT,
            MODEL_MAX_SIZE, PRUNE_LAST_LAYER, UNPAD, FUSE_GELU, FUSE_LAYER_NORM, FUSE_MATMUL_SCALE,
            PRELOAD_MODELS);
    }

    /** The embedder's limits from the node settings. */
    public static LoadedModel.Limits limits(org.opensearch.common.settings.Settings settings) {
        return new LoadedModel.Limits(MAX_BATCH_SIZE.get(settings), TOKEN_BUDGET.get(settings), INTRA_OP_THREADS.get(settings),
            MODEL_MAX_SIZE.get(settings).getBytes(), INFERENCE_THREADS.get(settings), QUERY_THREADS.get(settings),
            MAX_WAIT.get(settings).micros(), PRUNE_LAST_LAYER.get(settings), UNPAD.get(settings),
            fusions(settings));
    }

    private static Set<Fusion> fusions(org.opensearch.common.settings.Settings settings) {
        Set<Fusion> fusions = EnumSet.noneOf(Fusion.class);
        FUSION_SETTINGS.forEach((fusion, setting) -> {
            if (setting.get(settings)) {
                fusions.add(fusion);
            }
        });
        return fusions;
    }
}
