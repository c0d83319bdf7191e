package io.embedder.meta;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How a vector field is embedded, as its index remembers it in the mapping's {@code _meta}:
 * <pre>{@code "_meta": {"embedder": {"fields": {"<field>": {"model": "bge-small-en-v1.5", "dimensions": 384, "normalize": true}}}}}</pre>
 * The {@code embed} processor refuses to write the field any other way, and a query on the field embeds its text the
 * same way, so both sides agree.
 *
 * @param dimensions Matryoshka size, or null for the model's full size
 * @param normalize  whether vectors are L2-normalized, or null for the model's own setting
 */
public record FieldEmbedding(String model, Integer dimensions, Boolean normalize) {

    /** The keys a field's entry may have. */
    public static final List<String> KEYS = List.of("model", "dimensions", "normalize");

    public FieldEmbedding {
        Objects.requireNonNull(model, "model");
    }

    /** With the model's own normalization. */
    public FieldEmbedding(String model, Integer dimensions) {
        this(model, dimensions, null);
    }

    /**
     * The same settings with the model's defaults made explicit, so that two ways of saying the same thing compare
     * equal ({@code dimensions} absent or the model's full size; {@code normalize} absent or the model's own).
     */
    public FieldEmbedding resolved(int modelDimensions, boolean modelNormalizes) {
        return new FieldEmbedding(model, dimensions == null ? modelDimensions : dimensions, normalize == null ? modelNormalizes : normalize);
    }

    /** {@code model [m] dimensions [full] normalize [model default]}, for messages. */
    public String describe() {
        return "model [" + model + "] dimensions [" + (dimensions == null ? "full" : dimensions) + "] normalize ["
            + (normalize == null ? "model default" : normalize) + "]";
    }

    /**
     * Reads the field's entry from an index's mapping source, or returns null when it has none.
     *
     * @throws IllegalArgumentException naming the index, the entry and what it may hold, when the entry is malformed
     */
    public static FieldEmbedding fromMapping(String index, String field, Map<String, Object> mappingSource) {
        Object meta = mappingSource == null ? null : mappingSource.get("_meta");
        Object embedder = meta instanceof Map<?, ?> m ? m.get("embedder") : null;
        Object fields = embedder instanceof Map<?, ?> m ? m.get("fields") : null;
        Object entry = fields instanceof Map<?, ?> m ? m.get(field) : null;
        if (entry == null) {
            return null;
        }
        String where = "index [" + index + "] _meta.embedder.fields." + field;
        if (!(entry instanceof Map<?, ?> map) || !(map.get("model") instanceof String model)) {
            throw new IllegalArgumentException(where + " must be an object with a string [model] (and optional integer [dimensions], "
                + "boolean [normalize]), got [" + entry + "]");
        }
        for (Object key : map.keySet()) {
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException(where + " has unknown key [" + key + "]; it takes " + KEYS);
            }
        }
        Object dims = map.get("dimensions");
        if (dims != null && (!(dims instanceof Integer d) || d < 1)) {
            throw new IllegalArgumentException(where + ".dimensions must be a positive integer, got [" + dims + "]");
        }
        Object normalize = map.get("normalize");
        if (normalize != null && !(normalize instanceof Boolean)) {
            throw new IllegalArgumentException(where + ".normalize must be true or false, got [" + normalize + "]");
        }
        return new FieldEmbedding(model, (Integer) dims, (Boolean) normalize);
    }
}
