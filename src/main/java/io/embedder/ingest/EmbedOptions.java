package io.embedder.ingest;

import io.embedder.core.EmbedParams;
import io.embedder.core.Embedder;
import io.embedder.core.EmbedderException;
import io.embedder.core.Role;
import io.embedder.core.Task;
import io.embedder.core.lateinteraction.TokenOptions;
import io.embedder.core.model.ModelSpec;
import io.embedder.core.runtime.Truncation;
import org.opensearch.ingest.ConfigurationUtils;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code embed} processor's options, checked when the pipeline is created: every error names the processor, its
 * tag and the property. The embedder parameters are validated by the same code as {@code _embed}'s, so they accept
 * the same values with the same messages.
 */
record EmbedOptions(String model, List<FieldMapping> fieldMap, Task task, Integer dimensions, Boolean normalize, Truncation truncation,
                    TokenOptions tokens, boolean ignoreMissing, boolean skipExisting) {

    /** Options of task {@code token_embed} the processor takes, as {@code _embed} names them. */
    static final List<String> TOKEN_OPTIONS = List.of(TokenOptions.DROP_SPECIAL_TOKENS, TokenOptions.DROP_PUNCTUATION, TokenOptions.POOL_FACTOR);

    /** The request for {@code texts}: always the document role. */
    EmbedParams params(List<String> texts) {
        return new EmbedParams(texts, task, Role.DOCUMENT, normalize, dimensions, truncation, tokens);
    }

    /** Reads (and removes) the options from {@code config}. */
    static EmbedOptions read(String tag, Map<String, Object> config, Embedder embedder, String defaultModel) {
        String model = ConfigurationUtils.readStringProperty(EmbedProcessor.TYPE, tag, config, "model", defaultModel);
        List<FieldMapping> fieldMap = FieldMapping.read(tag, ConfigurationUtils.readMap(EmbedProcessor.TYPE, tag, config, "field_map"));
        String taskName = ConfigurationUtils.readStringProperty(EmbedProcessor.TYPE, tag, config, "task", Task.EMBED.id());
        Object dimensionsValue = ConfigurationUtils.readOptionalObject(config, "dimensions");
        Object normalizeValue = ConfigurationUtils.readOptionalObject(config, "normalize");
        Object truncateValue = ConfigurationUtils.readOptionalObject(config, "truncate_prompt_tokens");
        boolean ignoreMissing = ConfigurationUtils.readBooleanProperty(EmbedProcessor.TYPE, tag, config, "ignore_missing", false);
        boolean skipExisting = ConfigurationUtils.readBooleanProperty(EmbedProcessor.TYPE, tag, config, "skip_existing", false);
        Map<String, Object> tokenValues = new HashMap<>();
        for (String key : TOKEN_OPTIONS) {
            Object value = ConfigurationUtils.readOptionalObject(config, key);
            if (value != null) {
                tokenValues.put(key, value);
            }
        }
        if (config.containsKey("role")) {
            throw invalid(tag, "role", "is always [document] when indexing (the model's document prompt); remove it");
        }

        Task task;
        try {
            task = Task.fromId(taskName);
        } catch (EmbedderException e) {
            throw invalid(tag, "task", e.getMessage());
        }
        Integer dimensions = dimensionsValue == null ? null : embedderParameter(tag, "dimensions", dimensionsValue).dimensions();
        Boolean normalize = normalizeValue == null ? null : embedderParameter(tag, "normalize", normalizeValue).normalize();
        Truncation truncation = truncateValue == null ? Truncation.MODEL_DEFAULT
            : embedderParameter(tag, "truncate_prompt_tokens", truncateValue).truncation();
        if (dimensions != null && task != Task.EMBED) {
            throw invalid(tag, "dimensions", "is accepted by task [embed] only");
        }
        TokenOptions tokens = tokenOptions(tag, task, tokenValues);

        ModelSpec spec;
        try {
            spec = embedder.spec(model);
        } catch (EmbedderException e) {
            throw invalid(tag, "model", e.getMessage());
        }
        List<Integer> matryoshka = spec.matryoshkaDimensions().value();
        boolean full = spec.dimensions() != null && dimensions != null && dimensions.equals(spec.dimensions().value());
        if (dimensions != null && !full && !matryoshka.contains(dimensions)) {
            throw invalid(tag, "dimensions", "[" + dimensions + "] is not " + (matryoshka.isEmpty()
                ? "available: model [" + model + "] is not declared Matryoshka"
                : "one of model [" + model + "]'s Matryoshka dimensions " + matryoshka));
        }
        // the special tokens need room too; the exact room is checked per text by the tokenizer
        if (truncation instanceof Truncation.KeepLast last && last.tokens() >= spec.maxTokens().value()) {
            throw invalid(tag, "truncate_prompt_tokens", "[" + last.tokens() + "] must be less than model [" + model + "]'s max_tokens ["
                + spec.maxTokens().value() + "]");
        }
        return new EmbedOptions(model, fieldMap, task, dimensions, normalize, truncation, tokens, ignoreMissing, skipExisting);
    }

    /** {@code drop_special_tokens}, {@code drop_punctuation} and {@code pool_factor}: task token_embed only, checked as {@code _embed} does. */
    private static TokenOptions tokenOptions(String tag, Task task, Map<String, Object> values) {
        for (String key : TOKEN_OPTIONS) {
            if (values.containsKey(key) && task != Task.TOKEN_EMBED) {
                throw invalid(tag, key, "is accepted by task [token_embed] only");
            }
        }
        try {
            return TokenOptions.parse(values);
        } catch (EmbedderException e) {
            String key = TOKEN_OPTIONS.stream().filter(k -> e.getMessage().startsWith("[" + k + "] ")).findFirst().orElseThrow(() -> e);
            throw invalid(tag, key, e.getMessage().substring(key.length() + 3));
        }
    }

    /** Validates one embedder parameter as {@code _embed} does; the message loses its own "[name] " prefix, re-added by the exception. */
    private static EmbedParams embedderParameter(String tag, String name, Object value) {
        Map<String, Object> body = new HashMap<>();
        body.put("texts", List.of(""));
        body.put(name, value);
        try {
            return EmbedParams.parse(body);
        } catch (EmbedderException e) {
            String message = e.getMessage();
            throw invalid(tag, name, message.startsWith("[" + name + "] ") ? message.substring(name.length() + 3) : message);
        }
    }

    private static RuntimeException invalid(String tag, String property, String message) {
        return ConfigurationUtils.newConfigurationException(EmbedProcessor.TYPE, tag, property, message);
    }
}
