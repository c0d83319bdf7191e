package io.embedder.core.lateinteraction;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SafeTensorsTest {

    @TempDir
    Path dir;

    @Test
    void readsF32TensorsByName() {
        Map<String, TestTensors.F32> tensors = new LinkedHashMap<>();
        tensors.put("a", new TestTensors.F32(new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, -6.5f}));
        tensors.put("b", new TestTensors.F32(new long[] {1}, new float[] {0.25f}));
        TestTensors.write(dir.resolve("t.safetensors"), tensors);
        SafeTensors st = SafeTensors.open(dir.resolve("t.safetensors"), "t.safetensors");
        assertEquals(Set.of("a", "b"), st.names());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, -6.5f}, st.floats("a", 2, 3));
        assertArrayEquals(new float[] {0.25f}, st.floats("b", 1));
    }

    /** F16 1.0 = 0x3C00, −2.0 = 0xC000; BF16 is a float32's high half: 1.5 = 0x3FC0, −0.25 = 0xBE80. */
    @Test
    void halfPrecisionBecomesFloat() throws IOException {
        write("h.safetensors", "{\"f\": {\"dtype\": \"F16\", \"shape\": [2], \"data_offsets\": [0, 4]}, "
            + "\"g\": {\"dtype\": \"BF16\", \"shape\": [2], \"data_offsets\": [4, 8]}}", new short[] {0x3C00, (short) 0xC000, 0x3FC0, (short) 0xBE80});
        SafeTensors st = SafeTensors.open(dir.resolve("h.safetensors"), "h.safetensors");
        assertArrayEquals(new float[] {1f, -2f}, st.floats("f", 2));
        assertArrayEquals(new float[] {1.5f, -0.25f}, st.floats("g", 2));
    }

    @Test
    void everyInconsistencyNamesTheFileAndTensor() throws IOException {
        TestTensors.write(dir.resolve("t.safetensors"), Map.of("w", new TestTensors.F32(new long[] {2, 2}, new float[] {1, 2, 3, 4})));
        SafeTensors st = SafeTensors.open(dir.resolve("t.safetensors"), "1_Dense/model.safetensors");
        assertEquals("1_Dense/model.safetensors has no tensor [linear.weight]; it has [w]", message(() -> st.floats("linear.weight", 2, 2)));
        assertEquals("1_Dense/model.safetensors tensor [w] has shape [2, 2], expected [4]", message(() -> st.floats("w", 4)));

        write("i.safetensors", "{\"w\": {\"dtype\": \"I64\", \"shape\": [1], \"data_offsets\": [0, 8]}}", new short[4]);
        assertEquals("i tensor [w] has dtype [I64]; supported: [F32, F16, BF16]",
            message(() -> SafeTensors.open(dir.resolve("i.safetensors"), "i").floats("w", 1)));
        write("o.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 16]}}", new short[4]);
        assertEquals("o tensor [w] has data_offsets [0, 16] outside the 8 data bytes", message(() -> SafeTensors.open(dir.resolve("o.safetensors"), "o")));
        write("s.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", new short[4]);
        assertEquals("s tensor [w] holds 8 bytes, but F32 [3] needs 12", message(() -> SafeTensors.open(dir.resolve("s.safetensors"), "s")));
        write("j.safetensors", "{\"w\": [1, 2]}", new short[0]);
        assertEquals("j tensor [w] has an invalid header entry: [1,2]", message(() -> SafeTensors.open(dir.resolve("j.safetensors"), "j")));
        Files.write(dir.resolve("x.safetensors"), new byte[] {(byte) 0xFF, 0, 0, 0, 0, 0, 0, 0, '{', '}'});
        assertEquals("x is not a safetensors file: header length 255 for a file of 10 bytes",
            message(() -> SafeTensors.open(dir.resolve("x.safetensors"), "x")));
    }

    private void write(String name, String header, short[] data) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(8 + json.length + 2 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(json.length).put(json);
        for (short s : data) {
            out.putShort(s);
        }
        Files.write(dir.resolve(name), out.array());
    }

    private static String message(org.junit.jupiter.api.function.Executable e) {
        return assertThrows(IllegalArgumentException.class, e).getMessage();
    }
}
