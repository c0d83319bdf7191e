package io.embedder.core.lateinteraction;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The stored form of one document's token vectors: a little-endian int32 {@code dims}, then the vectors back to back
 * in the {@link ElementType}'s layout. For {@link ElementType#FLOAT} this is exactly what Lucene's
 * {@code LateInteractionField} writes, so Lucene's own late-interaction tools read our float fields.
 * <ul>
 *   <li>float: {@code dims} float32 per vector;</li>
 *   <li>byte: a float32 scale, then {@code dims} int8, per vector ({@code x ≈ q × scale});</li>
 *   <li>bit: {@code ceil(dims / 8)} bytes per vector, dimension {@code j} in byte {@code j / 8}, bit {@code 7 - j % 8}
 *       (most significant first), set when the component is above zero.</li>
 * </ul>
 */
public final class TokenVectors {

    private static final VarHandle LE_FLOAT = MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE_INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    /** Bytes of the header (the int32 dims). */
    public static final int HEADER_BYTES = Integer.BYTES;

    private TokenVectors() {}

    /**
     * Encodes {@code vectors} (at least one, each of the same length, finite components: checked by the caller).
     */
    public static byte[] encode(ElementType type, float[][] vectors) {
        assert vectors.length > 0;
        int dims = vectors[0].length;
        ByteBuffer out = ByteBuffer.allocate(HEADER_BYTES + vectors.length * type.bytesPerVector(dims)).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(dims);
        for (float[] v : vectors) {
            assert v.length == dims;
            switch (type) {
                case FLOAT -> {
                    for (float x : v) {
                        out.putFloat(x);
                    }
                }
                case BYTE -> {
                    float maxAbs = 0;
                    for (float x : v) {
                        maxAbs = Math.max(maxAbs, Math.abs(x));
                    }
                    float scale = maxAbs / 127f;
                    out.putFloat(scale);
                    for (float x : v) {
                        out.put(scale == 0 ? 0 : (byte) Math.round(x / scale));
                    }
                }
                case BIT -> {
                    int start = out.position();
                    for (int j = 0; j < dims; j++) {
                        if (v[j] > 0) {
                            int at = start + (j >>> 3);
                            out.put(at, (byte) (out.get(at) | (0x80 >>> (j & 7))));
                        }
                    }
                    out.position(start + type.bytesPerVector(dims));
                }
            }
        }
        return out.array();
    }

    /** The dims an encoded value declares. */
    public static int dims(byte[] bytes, int offset) {
        return (int) LE_INT.get(bytes, offset);
    }

    /**
     * Number of vectors in an encoded value of {@code length} bytes.
     *
     * @throws IllegalArgumentException if the length is not a header plus whole vectors of {@code dims}
     */
    public static int count(ElementType type, int dims, int length) {
        int body = length - HEADER_BYTES;
        int per = type.bytesPerVector(dims);
        if (body < 0 || body % per != 0) {
            throw new IllegalArgumentException("stored token vectors of " + length + " bytes are not whole " + type + " vectors of " + dims
                + " dimensions");
        }
        return body / per;
    }

    /**
     * Decodes vector {@code index} of an encoded value into {@code into} (length dims) as floats: the exact values
     * for float, {@code q × scale} for byte, {@code ±1/√dims} for bit.
     */
    public static void decode(ElementType type, byte[] bytes, int offset, int dims, int index, float[] into) {
        int at = offset + HEADER_BYTES + index * type.bytesPerVector(dims);
        switch (type) {
            case FLOAT -> {
                for (int j = 0; j < dims; j++) {
                    into[j] = (float) LE_FLOAT.get(bytes, at + j * Float.BYTES);
                }
            }
            case BYTE -> {
                float scale = (float) LE_FLOAT.get(bytes, at);
                for (int j = 0; j < dims; j++) {
                    into[j] = bytes[at + Float.BYTES + j] * scale;
                }
            }
            case BIT -> {
                float unit = (float) (1 / Math.sqrt(dims));
                for (int j = 0; j < dims; j++) {
                    into[j] = (bytes[at + (j >>> 3)] & (0x80 >>> (j & 7))) != 0 ? unit : -unit;
                }
            }
        }
    }
}
