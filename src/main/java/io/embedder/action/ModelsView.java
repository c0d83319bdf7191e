package io.embedder.action;

import io.embedder.core.Embedder;
import io.embedder.core.EmbedderException;
import io.embedder.core.model.ModelSpec;
import io.embedder.core.model.Sourced;
import io.embedder.core.runtime.InferenceScheduler;
import io.embedder.core.runtime.LoadedModel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The models API's JSON: each model with its pooling, normalization, dimensions, token limit and prompts as read from
 * its files, and where each value came from. A model whose files are invalid is listed with its error.
 */
final class ModelsView {

    private ModelsView() {}

    static Map<String, Object> all(Embedder embedder, String defaultModel) {
        List<Object> models = new ArrayList<>();
        for (String name : embedder.modelNames()) {
            try {
                models.add(one(embedder, name, embedder.spec(name), defaultModel));
            } catch (EmbedderException invalid) {
                Map<String, Object> broken = new LinkedHashMap<>();
                broken.put("name", name);
                broken.put("error", invalid.getMessage());
                models.add(broken);
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("default_model", defaultModel);
        out.put("models_dir", embedder.modelsDir().toString());
        out.put("models", models);
        return out;
    }

    static Map<String, Object> one(Embedder embedder, String name, ModelSpec spec, String defaultModel) {
        Optional<LoadedModel> loaded = embedder.loadedModel(name);
        Sourced<Integer> dims = loaded.map(m -> Sourced.of(m.dimensions(), "onnx output " + spec.outputName())).orElse(spec.dimensions());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("default", name.equals(defaultModel));
        m.put("loaded", loaded.isPresent());
        m.put("pooling", spec.pooling().value().id());
        m.put("normalize", spec.normalize().value());
        m.put("dimensions", dims == null ? null : dims.value());
        m.put("max_tokens", spec.maxTokens().value());
        m.put("tokenizer_max_length", spec.tokenizerMaxLength());
        m.put("prompts", new LinkedHashMap<>(spec.prompts().value()));
        m.put("default_prompt_name", spec.defaultPromptName());
        m.put("matryoshka_dimensions", new ArrayList<>(spec.matryoshkaDimensions().value()));
        m.put("padding_side", spec.paddingSide().value());
        m.put("onnx_file", embedder.modelsDir().resolve(name).relativize(spec.onnxFile()).toString());
        m.put("tokenizer_file", embedder.modelsDir().resolve(name).relativize(spec.tokenizerFile()).toString());
        Map<String, Object> sources = new LinkedHashMap<>();
        sources.put("pooling", spec.pooling().source());
        sources.put("normalize", spec.normalize().source());
        sources.put("dimensions", dims == null ? "unknown until loaded" : dims.source());
        sources.put("max_tokens", spec.maxTokens().source());
        sources.put("prompts", spec.prompts().source());
        sources.put("matryoshka_dimensions", spec.matryoshkaDimensions().source());
        sources.put("padding_side", spec.paddingSide().source());
        m.put("sources", sources);
        return m;
    }

    static Map<String, Object> stats(Embedder embedder) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("inference_count", embedder.inferenceCount());
        out.put("text_count", embedder.textCount());
        InferenceScheduler.BatchStats batches = embedder.batchStats();
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("count", batches.batches());
        b.put("texts", batches.texts());
        b.put("real_tokens", batches.realTokens());
        b.put("padded_tokens", batches.paddedTokens());
        out.put("batches", b);
        out.put("loaded_models", embedder.modelNames().stream().filter(n -> embedder.loadedModel(n).isPresent()).toList());
        return out;
    }
}
