package io.embedder.query;

import io.embedder.mapper.LateInteractionFieldMapper;
import org.opensearch.index.mapper.MappedFieldType;

/** Checks, on a shard, that a field is a {@code late_interaction} field whose dims match the query vectors. */
public final class LateInteractionFields {

    private LateInteractionFields() {}

    /** @param owner what asks, for messages: {@code late_interaction} (query) or {@code rescore.late_interaction} */
    public static LateInteractionFieldMapper.FieldType require(String owner, MappedFieldType type, float[][] queryVectors) {
        if (!(type instanceof LateInteractionFieldMapper.FieldType field)) {
            throw new IllegalArgumentException("[" + owner + "] field [" + type.name() + "] is of type [" + type.typeName() + "], not ["
                + LateInteractionFieldMapper.CONTENT_TYPE + "]");
        }
        if (queryVectors[0].length != field.dims()) {
            throw new IllegalArgumentException("[" + owner + "] query vectors have " + queryVectors[0].length + " dimensions, but field ["
                + field.name() + "] has [dims] " + field.dims());
        }
        return field;
    }
}
