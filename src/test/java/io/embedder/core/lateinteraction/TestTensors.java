package io.embedder.core.lateinteraction;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes safetensors files and Dense module directories for tests, straight from the format's description. */
public final class TestTensors {

    private TestTensors() {}

    /** One F32 tensor: its shape and row-major values. */
    public record F32(long[] shape, float[] values) {}

    /** Writes {@code tensors} as F32, in order, after the 8-byte header length and the JSON header. */
    public static void write(Path file, Map<String, F32> tensors) {
        StringBuilder header = new StringBuilder("{\"__metadata__\": {\"format\": \"pt\"}");
        long offset = 0;
        for (Map.Entry<String, F32> e : tensors.entrySet()) {
            long bytes = 4L * e.getValue().values().length;
            header.append(", \"").append(e.getKey()).append("\": {\"dtype\": \"F32\", \"shape\": ")
                .append(java.util.Arrays.toString(e.getValue().shape())).append(", \"data_offsets\": [").append(offset).append(", ")
                .append(offset + bytes).append("]}");
            offset += bytes;
        }
        header.append('}');
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(8 + json.length + (int) offset).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(json.length).put(json);
        for (F32 t : tensors.values()) {
            for (float v : t.values()) {
                out.putFloat(v);
            }
        }
        try {
            Files.createDirectories(file.getParent());
            Files.write(file, out.array());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A PyLate Dense module directory: config.json and model.safetensors with linear.weight [out, in] (and linear.bias). */
    public static void dense(Path dir, float[][] weight, float[] bias, String activation) {
        int out = weight.length;
        int in = weight[0].length;
        float[] flat = new float[out * in];
        for (int o = 0; o < out; o++) {
            System.arraycopy(weight[o], 0, flat, o * in, in);
        }
        Map<String, F32> tensors = new LinkedHashMap<>();
        tensors.put("linear.weight", new F32(new long[] {out, in}, flat));
        if (bias != null) {
            tensors.put("linear.bias", new F32(new long[] {out}, bias));
        }
        write(dir.resolve("model.safetensors"), tensors);
        try {
            Files.writeString(dir.resolve("config.json"), "{\"in_features\": " + in + ", \"out_features\": " + out + ", \"bias\": " + (bias != null)
                + ", \"activation_function\": \"" + activation + "\"}");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
