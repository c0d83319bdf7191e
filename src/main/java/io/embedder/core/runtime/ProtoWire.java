package io.embedder.core.runtime;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The protobuf wire format, by hand: enough to walk an ONNX file's messages field by field and to write small new
 * ones. A parsed field keeps where its bytes are in the source, so a rewrite copies every field it does not change
 * byte for byte (unknown fields included).
 *
 * <p>Wire types: 0 varint, 1 fixed 64-bit, 2 length-delimited, 5 fixed 32-bit (groups, 3 and 4, are refused: ONNX
 * has none).
 */
final class ProtoWire {

    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LEN = 2;
    static final int FIXED32 = 5;

    private ProtoWire() {}

    /**
     * One field of a message in {@code source}: {@code start} to {@code end} spans the whole field (tag included);
     * for a length-delimited field {@code valueStart} and {@code valueLength} locate its payload, for a varint
     * {@code varint} is its value. {@code origin} is where {@code source} starts in the outermost message parsed (the
     * file), so that {@link #absoluteValueStart} locates a payload in the file.
     */
    record Field(ByteBuffer source, long origin, int number, int wireType, int start, int end, long varint, int valueStart, int valueLength) {

        /** The fields of this length-delimited field's payload, their offsets kept relative to the outermost message. */
        List<Field> children() {
            return fields(value(), origin + valueStart);
        }

        /** Where the payload starts in the outermost message parsed. */
        long absoluteValueStart() {
            return origin + valueStart;
        }

        /** The payload of a length-delimited field, as a view (no copy). */
        ByteBuffer value() {
            return source.slice(valueStart, valueLength);
        }

        /** The whole field, tag included, as a view. */
        ByteBuffer raw() {
            return source.slice(start, end - start);
        }

        String string() {
            byte[] b = new byte[valueLength];
            source.get(valueStart, b);
            return new String(b, StandardCharsets.UTF_8);
        }
    }

    /**
     * The fields of the message that fills {@code message} (position to limit), in order.
     *
     * @throws IllegalArgumentException when the bytes are not a well-formed message
     */
    static List<Field> fields(ByteBuffer message) {
        return fields(message, 0);
    }

    private static List<Field> fields(ByteBuffer message, long origin) {
        ByteBuffer b = message.slice();
        List<Field> out = new ArrayList<>();
        int[] pos = {0};
        while (pos[0] < b.limit()) {
            int start = pos[0];
            long tag = readVarint(b, pos);
            int number = (int) (tag >>> 3);
            int wireType = (int) (tag & 7);
            if (number < 1) {
                throw new IllegalArgumentException("field number " + number + " at byte " + start);
            }
            switch (wireType) {
                case VARINT -> {
                    long v = readVarint(b, pos);
                    out.add(new Field(b, origin, number, wireType, start, pos[0], v, -1, 0));
                }
                case FIXED64, FIXED32 -> {
                    int size = wireType == FIXED64 ? 8 : 4;
                    checkRoom(b, pos[0], size);
                    out.add(new Field(b, origin, number, wireType, start, pos[0] + size, 0, pos[0], size));
                    pos[0] += size;
                }
                case LEN -> {
                    long length = readVarint(b, pos);
                    if (length < 0 || length > Integer.MAX_VALUE) {
                        throw new IllegalArgumentException("length " + length + " at byte " + start);
                    }
                    checkRoom(b, pos[0], (int) length);
                    out.add(new Field(b, origin, number, wireType, start, pos[0] + (int) length, 0, pos[0], (int) length));
                    pos[0] += (int) length;
                }
                default -> throw new IllegalArgumentException("wire type " + wireType + " at byte " + start);
            }
        }
        return out;
    }

    private static void checkRoom(ByteBuffer b, int at, int size) {
        if (size > b.limit() - at) {
            throw new IllegalArgumentException("field of " + size + " bytes at byte " + at + " runs past the message end " + b.limit());
        }
    }

    private static long readVarint(ByteBuffer b, int[] pos) {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos[0] >= b.limit()) {
                throw new IllegalArgumentException("truncated varint at byte " + pos[0]);
            }
            byte c = b.get(pos[0]++);
            result |= (long) (c & 0x7f) << shift;
            if (c >= 0) {
                return result;
            }
        }
        throw new IllegalArgumentException("varint longer than 10 bytes at byte " + pos[0]);
    }

    /**
     * The values of a repeated int64 field in {@code fields}: packed (one length-delimited field) or not (one varint
     * field per value), as protobuf parsers accept both.
     */
    static List<Long> int64s(List<Field> fields, int number) {
        List<Long> out = new ArrayList<>();
        for (Field f : fields) {
            if (f.number() != number) {
                continue;
            }
            if (f.wireType() == VARINT) {
                out.add(f.varint());
            } else if (f.wireType() == LEN) {
                ByteBuffer v = f.value();
                int[] pos = {0};
                while (pos[0] < v.limit()) {
                    out.add(readVarint(v, pos));
                }
            } else {
                throw new IllegalArgumentException("field " + number + " has wire type " + f.wireType() + ", not an int64");
            }
        }
        return out;
    }

    /** Writes small new messages; large payloads stay in their source and are copied once, by {@link ModelBytes}. */
    static final class Writer {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Writer varintField(int number, long value) {
            tag(number, VARINT);
            varint(value);
            return this;
        }

        Writer bytesField(int number, byte[] value) {
            tag(number, LEN);
            varint(value.length);
            out.writeBytes(value);
            return this;
        }

        Writer stringField(int number, String value) {
            return bytesField(number, value.getBytes(StandardCharsets.UTF_8));
        }

        Writer floatField(int number, float value) {
            tag(number, FIXED32);
            int bits = Float.floatToRawIntBits(value);
            for (int i = 0; i < 4; i++) {
                out.write((bits >>> (8 * i)) & 0xff);
            }
            return this;
        }

        /** Appends an already encoded field (tag included) as it is. */
        Writer raw(ByteBuffer field) {
            byte[] b = new byte[field.remaining()];
            field.duplicate().get(b);
            out.writeBytes(b);
            return this;
        }

        byte[] toByteArray() {
            return out.toByteArray();
        }

        private void tag(int number, int wireType) {
            varint(((long) number << 3) | wireType);
        }

        private void varint(long value) {
            long v = value;
            while ((v & ~0x7fL) != 0) {
                out.write((int) ((v & 0x7f) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }
    }

    /** Bytes a varint of {@code value} takes. */
    static int varintSize(long value) {
        int size = 1;
        long v = value;
        while ((v & ~0x7fL) != 0) {
            size++;
            v >>>= 7;
        }
        return size;
    }

    /** The encoded tag and length prefix of a length-delimited field {@code number} of {@code length} bytes. */
    static byte[] lenPrefix(int number, long length) {
        Writer w = new Writer();
        w.varint(((long) number << 3) | LEN);
        w.varint(length);
        return w.toByteArray();
    }
}
