package io.embedder.plugin;

import org.opensearch.common.settings.Setting;
import org.opensearch.common.settings.Setting.Property;
import org.opensearch.core.common.unit.ByteSizeUnit;
import org.opensearch.core.common.unit.ByteSizeValue;

import java.util.List;

/** Node settings of the plugin ({@code opensearch.yml}). */
public final class EmbedderSettings {

    private EmbedderSettings() {}

    /** Thread pool that runs inference; REST threads never embed. */
    public static final String THREAD_POOL = "embedder";

    public static final Setting<String> DEFAULT_MODEL =
        Setting.simpleString("embedder.default_model", "bge-small-en-v1.5", Property.NodeScope);

    public static final Setting<Integer> INTRA_OP_THREADS =
        Setting.intSetting("embedder.inference.intra_op_threads", 1, 1, 64, Property.NodeScope);

    public static final Setting<Integer> MAX_BATCH_SIZE =
        Setting.intSetting("embedder.batch.max_size", 32, 1, 1024, Property.NodeScope);

    public static final Setting<Integer> TOKEN_BUDGET =
        Setting.intSetting("embedder.batch.token_budget", 8192, 16, 1 << 20, Property.NodeScope);

    /** Largest ONNX file a model may have; a larger one is refused at load, before any native allocation. */
    public static final Setting<ByteSizeValue> MODEL_MAX_SIZE =
        Setting.byteSizeSetting("embedder.model.max_size", new ByteSizeValue(2, ByteSizeUnit.GB), Property.NodeScope);

    /** Models loaded and warmed up when the node starts, so that their first request does not wait for a load. */
    public static final Setting<List<String>> PRELOAD_MODELS =
        Setting.listSetting("embedder.preload_models", List.of(), s -> s, Property.NodeScope);

    public static List<Setting<?>> all() {
        return List.of(DEFAULT_MODEL, INTRA_OP_THREADS, MAX_BATCH_SIZE, TOKEN_BUDGET, MODEL_MAX_SIZE, PRELOAD_MODELS);
    }
}
