package io.embedder.core;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/** What a request asks of the model, and which parameters each task accepts. */
public enum Task {
    /** One pooled vector per text. */
    EMBED("embed", List.of("texts", "task", "role", "normalize", "dimensions", "truncate_prompt_tokens")),
    /** One vector per real token of each text (late interaction). */
    TOKEN_EMBED("token_embed", List.of("texts", "task", "role", "normalize", "truncate_prompt_tokens", "drop_special_tokens", "drop_punctuation",
        "pool_factor"));

    private final String id;
    private final List<String> parameters;

    Task(String id, List<String> parameters) {
        this.id = id;
        this.parameters = parameters;
    }

    public String id() {
        return id;
    }

    /** Parameter names this task accepts, in documentation order. */
    public List<String> parameters() {
        return parameters;
    }

    public static Task fromId(String id) {
        for (Task t : values()) {
            if (t.id.equals(id)) {
                return t;
            }
        }
        throw EmbedderException.badRequest("unknown task [" + id + "]; allowed: "
            + Arrays.stream(values()).map(Task::id).collect(Collectors.joining(", ", "[", "]")));
    }

    @Override
    public String toString() {
        return id.toLowerCase(Locale.ROOT);
    }
}
