package io.embedder.core.lateinteraction;

import io.embedder.core.EmbedderException;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How a document's token vectors are stored. Queries are always float: scoring against {@link #BYTE} and {@link #BIT}
 * documents is asymmetric (the float query meets the stored approximation of each document vector).
 */
public enum ElementType {
    /** float32 components, exact. 4 bytes per dimension. */
    FLOAT(4 * 8),
    /** int8 components with one float32 scale per vector ({@code value = q × scale}, {@code scale = max|x| / 127}). */
    BYTE(8),
    /**
     * One sign bit per dimension: a component above zero is +1, others −1, and the vector reads as that ±1 vector
     * divided by √dims (the unit vector closest to the signs). 32× smaller than float.
     */
    BIT(1);

    private final int bitsPerDimension;

    ElementType(int bitsPerDimension) {
        this.bitsPerDimension = bitsPerDimension;
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Bytes one stored vector of {@code dims} dimensions takes. */
    public int bytesPerVector(int dims) {
        return switch (this) {
            case FLOAT -> dims * Float.BYTES;
            case BYTE -> Float.BYTES + dims;
            case BIT -> (dims + 7) / 8;
        };
    }

    /** Bits per dimension, for storage reports. */
    public int bitsPerDimension() {
        return bitsPerDimension;
    }

    public static ElementType fromId(String id) {
        for (ElementType t : values()) {
            if (t.id().equals(id)) {
                return t;
            }
        }
        throw EmbedderException.badRequest("unknown element_type [" + id + "]; allowed: "
            + Arrays.stream(values()).map(ElementType::id).collect(Collectors.joining(", ", "[", "]")));
    }

    @Override
    public String toString() {
        return id();
    }
}
