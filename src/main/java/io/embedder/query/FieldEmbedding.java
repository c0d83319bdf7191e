package io.embedder.query;

import java.util.Map;
import java.util.Objects;

/**
 * How a vector field was embedded, as its index remembers it in the mapping's {@code _meta}:
 * <pre>{@code "_meta": {"embedder": {"fields": {"<field>": {"model": "bge-small-en-v1.5", "dimensions": 384}}}}}</pre>
 * A query on the field embeds its text the same way.
 *
 * @param dimensions Matryoshka size, or null for the model's full size
 */
public record FieldEmbedding(String model, Integer dimensions) {

    public FieldEmbedding {
        Objects.requireNonNull(model, "model");
    }

    /** Reads the field's entry from an index's mapping source, or returns null when it has none. */
    @SuppressWarnings("unchecked")
    public static FieldEmbedding fromMapping(String index, String field, Map<String, Object> mappingSource) {
        Object meta = mappingSource == null ? null : mappingSource.get("_meta");
        Object embedder = meta instanceof Map<?, ?> m ? m.get("embedder") : null;
        Object fields = embedder instanceof Map<?, ?> m ? m.get("fields") : null;
        Object entry = fields instanceof Map<?, ?> m ? m.get(field) : null;
        if (entry == null) {
            return null;
        }
        if (!(entry instanceof Map<?, ?> map) || !(map.get("model") instanceof String model)) {
            throw new IllegalArgumentException("index [" + index + "] _meta.embedder.fields." + field
                + " must be an object with a string [model] (and optional integer [dimensions]), got [" + entry + "]");
        }
        Object dims = ((Map<String, Object>) map).get("dimensions");
        if (dims != null && !(dims instanceof Integer)) {
            throw new IllegalArgumentException("index [" + index + "] _meta.embedder.fields." + field + ".dimensions must be an integer, got [" + dims + "]");
        }
        return new FieldEmbedding(model, (Integer) dims);
    }
}
