package io.embedder.core.lateinteraction;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads tensors from a {@code .safetensors} file: an 8-byte little-endian header length {@code N}, {@code N} bytes of
 * JSON ({@code {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}}), then
 * the raw little-endian data, offsets counted from the end of the header. Only the tensors asked for are read;
 * F32, F16 and BF16 become floats. Every inconsistency (header, offsets, sizes, shapes) is an
 * {@link IllegalArgumentException} naming the file and the tensor.
 */
public final class SafeTensors {

    /** A header larger than this is refused (the format's own reference limit is 100 MB). */
    static final long MAX_HEADER_BYTES = 100L << 20;

    private record Entry(String dtype, long[] shape, long begin, long end) {}

    private final String label;
    private final Path file;
    private final long dataStart;
    private final Map<String, Entry> entries;

    private SafeTensors(String label, Path file, long dataStart, Map<String, Entry> entries) {
        this.label = label;
        this.file = file;
        this.dataStart = dataStart;
        this.entries = entries;
    }

    /**
     * Reads the header of {@code file}; {@code label} names it in messages (e.g. {@code 1_Dense/model.safetensors}).
     *
     * @throws IllegalArgumentException when the file cannot be read or its header is not a valid safetensors header
     */
    public static SafeTensors open(Path file, String label) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            ByteBuffer lengthBytes = read(channel, 0, 8, label);
            long headerLength = lengthBytes.order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES || 8 + headerLength > size) {
                throw new IllegalArgumentException(label + " is not a safetensors file: header length " + headerLength + " for a file of " + size + " bytes");
            }
            ByteBuffer header = read(channel, 8, (int) headerLength, label);
            JsonObject json;
            try {
                JsonElement parsed = JsonParser.parseString(StandardCharsets.UTF_8.decode(header).toString());
                if (!parsed.isJsonObject()) {
                    throw new IllegalArgumentException(label + " has a safetensors header that is not a JSON object");
                }
                json = parsed.getAsJsonObject();
            } catch (JsonParseException e) {
                throw new IllegalArgumentException(label + " has a safetensors header that is not valid JSON: " + e.getMessage());
            }
            long dataStart = 8 + headerLength;
            Map<String, Entry> entries = new TreeMap<>();
            for (Map.Entry<String, JsonElement> e : json.entrySet()) {
                if (e.getKey().equals("__metadata__")) {
                    continue;
                }
                entries.put(e.getKey(), entry(label, e.getKey(), e.getValue(), size - dataStart));
            }
            return new SafeTensors(label, file, dataStart, entries);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + label + ": " + e);
        }
    }

    private static Entry entry(String label, String name, JsonElement value, long dataBytes) {
        String where = label + " tensor [" + name + "]";
        try {
            JsonObject o = value.getAsJsonObject();
            String dtype = o.get("dtype").getAsString();
            var shapeJson = o.getAsJsonArray("shape");
            long[] shape = new long[shapeJson.size()];
            long elements = 1;
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeJson.get(i).getAsLong();
                if (shape[i] < 0) {
                    throw new IllegalArgumentException(where + " has a negative dimension in shape " + Arrays.toString(shape));
                }
                elements = Math.multiplyExact(elements, shape[i]);
            }
            var offsets = o.getAsJsonArray("data_offsets");
            long begin = offsets.get(0).getAsLong();
            long end = offsets.get(1).getAsLong();
            if (begin < 0 || end < begin || end > dataBytes) {
                throw new IllegalArgumentException(where + " has data_offsets [" + begin + ", " + end + "] outside the " + dataBytes + " data bytes");
            }
            int width = width(dtype);
            if (width > 0 && Math.multiplyExact(elements, width) != end - begin) {
                throw new IllegalArgumentException(where + " holds " + (end - begin) + " bytes, but " + dtype + " " + Arrays.toString(shape) + " needs "
                    + elements * width);
            }
            return new Entry(dtype, shape, begin, end);
        } catch (IllegalStateException | NullPointerException | UnsupportedOperationException | IndexOutOfBoundsException | ClassCastException
                 | ArithmeticException e) {
            throw new IllegalArgumentException(where + " has an invalid header entry: " + value);
        }
    }

    /** Bytes per element of the dtypes this reader converts to float; 0 for others (kept in the header, not readable). */
    private static int width(String dtype) {
        return switch (dtype) {
            case "F32" -> 4;
            case "F16", "BF16" -> 2;
            default -> 0;
        };
    }

    public boolean has(String name) {
        return entries.containsKey(name);
    }

    /** Names of the tensors in the file, sorted. */
    public java.util.Set<String> names() {
        return entries.keySet();
    }

    /**
     * The values of tensor {@code name}, row-major, which must have exactly {@code shape}.
     *
     * @throws IllegalArgumentException if it is missing, has another shape, or a dtype other than F32, F16, BF16
     */
    public float[] floats(String name, long... shape) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new IllegalArgumentException(label + " has no tensor [" + name + "]; it has " + entries.keySet());
        }
        if (!Arrays.equals(e.shape, shape)) {
            throw new IllegalArgumentException(label + " tensor [" + name + "] has shape " + Arrays.toString(e.shape) + ", expected " + Arrays.toString(shape));
        }
        int width = width(e.dtype);
        if (width == 0) {
            throw new IllegalArgumentException(label + " tensor [" + name + "] has dtype [" + e.dtype + "]; supported: [F32, F16, BF16]");
        }
        long bytes = e.end - e.begin;
        if (bytes / width > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(label + " tensor [" + name + "] is too large: " + bytes + " bytes");
        }
        ByteBuffer data;
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            data = read(channel, dataStart + e.begin, (int) bytes, label).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException ex) {
            throw new IllegalArgumentException("cannot read " + label + ": " + ex);
        }
        float[] out = new float[(int) (bytes / width)];
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (e.dtype) {
                case "F32" -> data.getFloat();
                case "F16" -> Float.float16ToFloat(data.getShort());
                default -> Float.intBitsToFloat((data.getShort() & 0xFFFF) << 16); // BF16: the high half of a float32
            };
        }
        return out;
    }

    private static ByteBuffer read(FileChannel channel, long position, int length, String label) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) {
                throw new IllegalArgumentException(label + " ends before byte " + (position + length));
            }
        }
        return buffer.flip();
    }
}
