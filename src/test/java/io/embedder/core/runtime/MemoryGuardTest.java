package io.embedder.core.runtime;

import io.embedder.core.EmbedderException;
import io.embedder.core.model.ModelSpec;
import io.embedder.core.model.Sourced;
import io.embedder.core.pooling.Pooling;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The size guard refuses a model before ONNX Runtime allocates anything. */
class MemoryGuardTest {

    @TempDir
    Path dir;

    private ModelSpec spec(long bytes) throws IOException {
        Path onnx = dir.resolve("model.onnx");
        Files.write(onnx, new byte[(int) bytes]);
        return new ModelSpec("big", onnx, dir.resolve("tokenizer.json"), "last_hidden_state", Sourced.of(Pooling.CLS, "t"),
            Sourced.of(true, "t"), Sourced.of(512, "t"), null, -1, null, Sourced.of(Map.of(), "t"), null, Sourced.of(List.of(), "t"),
            Sourced.of("right", "t"));
    }

    @Test
    void refusesOverTheConfiguredMaximum() throws IOException {
        ModelSpec spec = spec(3 << 20);
        EmbedderException e = assertThrows(EmbedderException.class, () -> ModelLoader.checkMemory(spec, 2 << 20, Long.MAX_VALUE));
        assertEquals("model [big]: ONNX file [model.onnx] has 3 MB, over embedder.model.max_size [2 MB]", e.getMessage());
    }

    @Test
    void refusesWhatWouldNotFitInFreeMemory() throws IOException {
        ModelSpec spec = spec(3 << 20);
        EmbedderException e = assertThrows(EmbedderException.class, () -> ModelLoader.checkMemory(spec, Long.MAX_VALUE, 5L << 20));
        assertEquals("model [big]: ONNX file [model.onnx] has 3 MB and needs about 6 MB of native memory, but only 5 MB is free", e.getMessage());
        ModelLoader.checkMemory(spec, Long.MAX_VALUE, 6L << 20);
        ModelLoader.checkMemory(spec, Long.MAX_VALUE, -1); // unknown free memory: only the maximum applies
    }
}
