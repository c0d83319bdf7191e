package io.embedder.ingest;

import java.util.AbstractList;
import java.util.Objects;
import java.util.RandomAccess;

/**
 * A vector as a field value: a fixed-size {@code List<Float>} over the embedder's {@code float[]}, so a document's
 * vectors cost their floats (4 bytes each) while they wait in the ingest pipeline, instead of a boxed {@code Float}
 * and a reference per component (about 20 bytes). Reads box one value at a time. Read-only, since the embedder may hand
 * the same array to several texts (identical texts are embedded once): a later processor replaces the field instead.
 */
final class FloatList extends AbstractList<Float> implements RandomAccess {

    private final float[] values;

    /** @param values the vector, not copied: the caller hands it over */
    FloatList(float[] values) {
        this.values = Objects.requireNonNull(values);
    }

    @Override
    public Float get(int index) {
        return values[index];
    }

    @Override
    public int size() {
        return values.length;
    }
}
