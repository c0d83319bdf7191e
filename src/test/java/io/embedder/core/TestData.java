package io.embedder.core;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.embedder.core.runtime.LoadedModel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Where tests find the built model directories and the shared evaluation data. */
public final class TestData {

    private TestData() {}

    /** Model directories the build unpacked ({@code target/models}; -Pall-models adds MiniLM and e5). */
    public static Path modelsDir() {
        return Path.of(System.getProperty("models.dir", "target/models"));
    }

    /** Skips the test when the build did not bundle {@code model} (a build without -Pall-models). */
    public static void assumeModel(String model) {
        assumeTrue(Files.isRegularFile(modelsDir().resolve(model).resolve("model.onnx")),
            "model " + model + " not built: run with -Pall-models");
    }

    /** {@code ../shared/data} beside the repository. */
    public static Path shared(String relative) {
        Path p = Path.of(System.getProperty("tests.data", "../shared/data")).resolve(relative);
        assumeTrue(Files.exists(p), "shared data missing: " + p);
        return p;
    }

    public static JsonObject json(Path file) {
        try {
            return JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Embedder embedder() {
        return new Embedder(modelsDir(), new LoadedModel.Limits(16, 4096, 1, Long.MAX_VALUE, 2), Path.of("target/djl-cache"));
    }

    public static float[] floats(com.google.gson.JsonArray a) {
        float[] v = new float[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).getAsFloat();
        }
        return v;
    }

    /** Work that may throw, for {@link #onBigStack}. */
    public interface NativeWork {
        void run() throws Exception;
    }

    /**
     * Runs {@code work} on a thread with a 16 MB stack, as the embedder runs native work (ONNX Runtime overflows a
     * default 1 MB stack when it creates a session), and waits; a failure is rethrown wrapped.
     */
    public static void onBigStack(NativeWork work) throws InterruptedException {
        Throwable[] failure = new Throwable[1];
        Thread t = new Thread(null, () -> {
            try {
                work.run();
            } catch (Throwable e) {
                failure[0] = e;
            }
        }, "test-native", 16L << 20);
        t.start();
        t.join();
        if (failure[0] != null) {
            throw new IllegalStateException(failure[0]);
        }
    }
}
