package io.embedder.core;

import io.embedder.core.lateinteraction.TokenOptions;
import io.embedder.core.runtime.Truncation;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A validated embedding request, in the spirit of vLLM's {@code PoolingParams}.
 *
 * @param texts      the texts, in the order results come back
 * @param task       embed (pooled) or token_embed (per token)
 * @param role       query or document: picks the model's prompt; null uses the model's default prompt, if any
 * @param normalize  L2-normalize the output; null means the model's own setting
 * @param dimensions Matryoshka size; null means the model's full size
 * @param truncation how texts over the limit are cut
 * @param tokens     token_embed: which tokens are kept and whether documents' vectors are pooled
 */
public record EmbedParams(List<String> texts, Task task, Role role, Boolean normalize, Integer dimensions, Truncation truncation,
                          TokenOptions tokens) {

    /** Most texts one request may carry. */
    public static final int MAX_TEXTS = 1024;

    public EmbedParams {
        texts = List.copyOf(texts);
        tokens = tokens == null ? TokenOptions.DEFAULT : tokens;
    }

    /** Without token options: the model's defaults. */
    public EmbedParams(List<String> texts, Task task, Role role, Boolean normalize, Integer dimensions, Truncation truncation) {
        this(texts, task, role, normalize, dimensions, truncation, TokenOptions.DEFAULT);
    }

    /** Embed {@code texts} with the model's defaults and the given role. */
    public static EmbedParams embed(List<String> texts, Role role) {
        return new EmbedParams(texts, Task.EMBED, role, null, null, Truncation.MODEL_DEFAULT);
    }

    /**
     * Validates a parsed JSON request body. Every message names the parameter and the value, and what is allowed.
     */
    public static EmbedParams parse(Map<String, Object> body) {
        Object taskValue = body.get("task");
        Task task = taskValue == null ? Task.EMBED : Task.fromId(requireString("task", taskValue));
        for (String key : body.keySet()) {
            if (!task.parameters().contains(key)) {
                boolean known = Task.EMBED.parameters().contains(key) || Task.TOKEN_EMBED.parameters().contains(key);
                throw EmbedderException.badRequest((known ? "parameter [" + key + "] is not accepted by task [" : "unknown parameter [" + key + "] for task [")
                    + task.id() + "]; it accepts " + task.parameters());
            }
        }
        List<String> texts = texts(body.get("texts"));
        Role role = body.get("role") == null ? null : Role.fromId(requireString("role", body.get("role")));
        Boolean normalize = null;
        if (body.containsKey("normalize")) {
            if (!(body.get("normalize") instanceof Boolean b)) {
                throw EmbedderException.badRequest("[normalize] must be true or false, got [" + body.get("normalize") + "]");
            }
            normalize = b;
        }
        Integer dimensions = null;
        if (body.containsKey("dimensions")) {
            dimensions = positiveInt("dimensions", body.get("dimensions"));
        }
        return new EmbedParams(texts, task, role, normalize, dimensions, truncation(body.get("truncate_prompt_tokens")), TokenOptions.parse(body));
    }

    private static List<String> texts(Object value) {
        if (!(value instanceof List<?> list)) {
            throw EmbedderException.badRequest(value == null ? "[texts] is required: a non-empty array of strings"
                : "[texts] must be an array of strings, got [" + value + "]");
        }
        if (list.isEmpty() || list.size() > MAX_TEXTS) {
            throw EmbedderException.badRequest("[texts] must hold 1 to " + MAX_TEXTS + " strings, got " + list.size());
        }
        List<String> texts = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            Object t = list.get(i);
            if (!(t instanceof String s)) {
                throw EmbedderException.badRequest("[texts][" + i + "] must be a string, got " + describe(t));
            }
            texts.add(s);
        }
        return texts;
    }

    private static Truncation truncation(Object value) {
        if (value == null || "model_default".equals(value) || (value instanceof Number n && n.doubleValue() == -1)) {
            return Truncation.MODEL_DEFAULT;
        }
        if ("none".equals(value)) {
            return Truncation.NONE;
        }
        if (value instanceof Number n && n.doubleValue() >= 1 && n.doubleValue() == Math.rint(n.doubleValue()) && n.doubleValue() <= Integer.MAX_VALUE) {
            return new Truncation.KeepLast(n.intValue());
        }
        throw EmbedderException.badRequest("[truncate_prompt_tokens] must be [none], [model_default] (or -1) or a positive number "
            + "of tokens to keep from the end, got [" + value + "]");
    }

    private static int positiveInt(String name, Object value) {
        if (value instanceof Number n && n.doubleValue() >= 1 && n.doubleValue() == Math.rint(n.doubleValue()) && n.doubleValue() <= Integer.MAX_VALUE) {
            return n.intValue();
        }
        throw EmbedderException.badRequest("[" + name + "] must be a positive integer, got [" + value + "]");
    }

    private static String requireString(String name, Object value) {
        if (value instanceof String s) {
            return s;
        }
        throw EmbedderException.badRequest("[" + name + "] must be a string, got " + describe(value));
    }

    private static String describe(Object value) {
        if (value == null) {
            return "null";
        }
        String type = value instanceof Number ? "number" : value instanceof Boolean ? "boolean"
            : value instanceof List ? "array" : value instanceof Map ? "object" : value.getClass().getSimpleName();
        return type + " [" + value + "]";
    }
}
