package io.embedder.core.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.embedder.core.EmbedParams;
import io.embedder.core.Task;
import io.embedder.core.TestData;
import io.embedder.core.model.ModelSpecReader;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** What the tests of the operator fusions share: the real graphs rewritten, compared with the originals. */
final class FusedGraphs {

    static final List<String> TEXTS = List.of(
        "The present study is a history of the DEWEY Decimal Classification. The first edition of the DDC was published in 1876.",
        "Use of Information Centres", "Library", "A");
    private static final String OUTPUT = "last_hidden_state";

    private FusedGraphs() {}

    /** {@code model}'s ONNX file rewritten by {@code fusion} (given the mapped file and its name), weights left in the file. */
    static NodeFusion.Fused rewriteFile(String model, BiFunction<ByteBuffer, String, NodeFusion.Fused> fusion) throws Exception {
        Path onnx = onnx(model);
        try (FileChannel channel = FileChannel.open(onnx, StandardOpenOption.READ)) {
            return fusion.apply(channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size()), onnx.getFileName().toString());
        }
    }

    /**
     * Asserts that {@code rewritten} (beside {@code model}'s ONNX file) gives the original's token states within 1e-4 at
     * every real position of {@link #TEXTS}, and prints the largest difference.
     */
    static void assertSameTokenStates(String model, byte[] rewritten) throws Exception {
        Path onnx = onnx(model);
        try (TextTokenizer tokenizer = TextTokenizer.load(model, onnx.resolveSibling("tokenizer.json"))) {
            List<TokenizedText> tokens = TEXTS.stream().map(t -> tokenizer.encode(t, 512, Truncation.MODEL_DEFAULT)).toList();
            TestData.onBigStack(() -> {
                try (OrtSession original = UnpaddedGraphTest.session(Files.readAllBytes(onnx), onnx);
                     OrtSession fused = UnpaddedGraphTest.session(rewritten, onnx)) {
                    float[][][] expected = (float[][][]) UnpaddedGraphTest.run(original, tokens, false, OUTPUT);
                    float[][][] actual = (float[][][]) UnpaddedGraphTest.run(fused, tokens, false, OUTPUT);
                    float max = 0;
                    for (int b = 0; b < expected.length; b++) {
                        for (int s = 0; s < tokens.get(b).length(); s++) { // the real positions (padding's states are no one's)
                            assertArrayEquals(expected[b][s], actual[b][s], 1e-4f, model + ": text " + b + ", position " + s);
                            for (int d = 0; d < expected[b][s].length; d++) {
                                max = Math.max(max, Math.abs(expected[b][s][d] - actual[b][s][d]));
                            }
                        }
                    }
                    System.out.printf("%s: largest difference of a token state's component %.2e%n", model, max);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
        }
    }

    /** Asserts that each model loaded with {@code fused} embeds {@link #TEXTS} as loaded with {@code plain}, within 1e-5. */
    static void assertEmbedAlike(List<String> models, LoadedModel.Limits fused, LoadedModel.Limits plain) throws Exception {
        TestData.onBigStack(() -> {
            for (String model : models) {
                var spec = ModelSpecReader.read(model, TestData.modelsDir().resolve(model));
                try (LoadedModel a = LoadedModel.load(spec, fused); LoadedModel b = LoadedModel.load(spec, plain)) {
                    var params = new EmbedParams(TEXTS, Task.EMBED, null, null, null, Truncation.MODEL_DEFAULT);
                    List<float[]> expected = b.embed(params).vectors();
                    List<float[]> actual = a.embed(params).vectors();
                    for (int t = 0; t < TEXTS.size(); t++) {
                        assertArrayEquals(expected.get(t), actual.get(t), 1e-5f, model + (fused.unpad() ? ", unpadded" : "") + ": text " + t);
                    }
                }
            }
        });
    }

    /** Runs a small hand-built model on float inputs {@code [1, n / 4, 4]} by name; its output {@code y}, flattened. */
    static float[] run(byte[] model, Map<String, float[]> inputs) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> tensors = new HashMap<>();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions(); OrtSession session = env.createSession(model, options)) {
            for (var e : inputs.entrySet()) {
                tensors.put(e.getKey(), OnnxTensor.createTensor(env, FloatBuffer.wrap(e.getValue()), new long[] {1, e.getValue().length / 4, 4}));
            }
            try (OrtSession.Result result = session.run(tensors)) {
                float[][][] y = (float[][][]) result.get("y").orElseThrow().getValue();
                float[] flat = new float[y[0].length * 4];
                for (int s = 0; s < y[0].length; s++) {
                    System.arraycopy(y[0][s], 0, flat, s * 4, 4);
                }
                return flat;
            }
        } finally {
            tensors.values().forEach(OnnxTensor::close);
        }
    }

    private static Path onnx(String model) {
        return TestData.modelsDir().resolve(model).resolve("model.onnx");
    }
}
