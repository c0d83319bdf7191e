package io.embedder.core.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.embedder.core.EmbedParams;
import io.embedder.core.Task;
import io.embedder.core.TestData;
import io.embedder.core.model.ModelSpecReader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GELU fusion: on a hand-built GELU its one node computes the hand-computed values; a chain that is not exactly
 * GELU is left alone; on the real graphs every layer's GELU is fused and the token states are the original's; the
 * loader fuses by default and embeds as without it.
 */
class GeluFusionTest {

    private static final String OUTPUT = "last_hidden_state";
    private static final List<String> TEXTS = List.of(
        "The present study is a history of the DEWEY Decimal Classification. The first edition of the DDC was published in 1876.",
        "Use of Information Centres", "Library", "A");

    @BeforeAll
    static void djl() {
        DjlEnvironment.configure(Path.of("target/djl-cache"));
    }

    @Test
    void fusedGeluGivesTheHandComputedValues() throws Exception {
        NodeFusion.Fused fused = GeluFusion.rewrite(GraphEdits.geluModel(0.5f, false), null);
        assertEquals(1, fused.fused());
        OnnxGraph graph = OnnxGraph.parse(ByteBuffer.wrap(fused.model()));
        assertEquals(List.of("Gelu"), graph.nodes().stream().map(OnnxGraph.Node::opType).toList(), "the five nodes and their constants are gone");
        assertEquals(NodeFusion.CONTRIB_DOMAIN, graph.nodes().get(0).domain());
        assertEquals(List.of("x"), graph.nodes().get(0).inputs());
        assertEquals(List.of("y"), graph.nodes().get(0).outputs());
        // gelu(x) = x Φ(x): Φ(-1) = 0.15865525, Φ(1) = 0.84134475, Φ(2) = 0.97724987, Φ(-3) = 0.0013498980
        float[] x = {-1f, 0f, 1f, 2f, -3f, 0.5f, 3f, 10f};
        float[] expected = {-0.15865525f, 0f, 0.84134475f, 1.9544997f, -0.0040496940f, 0.34573123f, 2.9959502f, 10f};
        float[] plain = run(GraphEdits.geluModel(0.5f, false).array(), x);
        float[] actual = run(fused.model(), x);
        assertArrayEquals(expected, plain, 2e-6f, "the graph as PyTorch exports it");
        assertArrayEquals(expected, actual, 2e-6f, "the fused graph");
    }

    @Test
    void chainsThatAreNotExactlyGeluAreLeftAlone() {
        assertEquals(0, GeluFusion.rewrite(GraphEdits.geluModel(0.25f, false), null).fused(), "x/4 (1 + erf(x/√2)) is not GELU");
        assertNull(GeluFusion.rewrite(GraphEdits.geluModel(0.25f, false), null).model());
        assertEquals(0, GeluFusion.rewrite(GraphEdits.geluModel(0.5f, true), null).fused(), "the Erf's output is read elsewhere too");
        assertEquals(0, GeluFusion.rewrite(GraphEdits.reluModel(), null).fused());
    }

    @ParameterizedTest
    @CsvSource({"bge-small-en-v1.5,12", "all-MiniLM-L6-v2,6", "e5-small-v2,12"})
    void everyLayersGeluIsFusedAndTokenStatesAreTheOriginals(String model, int layers) throws Exception {
        TestData.assumeModel(model);
        Path onnx = TestData.modelsDir().resolve(model).resolve("model.onnx");
        NodeFusion.Fused fused;
        try (FileChannel channel = FileChannel.open(onnx, StandardOpenOption.READ)) {
            fused = GeluFusion.rewrite(channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size()), onnx.getFileName().toString());
        }
        assertEquals(layers, fused.fused());
        assertTrue(fused.model().length < 1 << 20, "the weights stay in the file: " + fused.model().length + " bytes");
        OnnxGraph graph = OnnxGraph.parse(ByteBuffer.wrap(fused.model()));
        assertEquals(0, graph.nodes().stream().filter(n -> n.opType().equals("Erf")).count());
        assertEquals(layers, graph.nodes().stream().filter(n -> n.opType().equals("Gelu")).count());
        try (TextTokenizer tokenizer = TextTokenizer.load(model, onnx.resolveSibling("tokenizer.json"))) {
            List<TokenizedText> tokens = TEXTS.stream().map(t -> tokenizer.encode(t, 512, Truncation.MODEL_DEFAULT)).toList();
            TestData.onBigStack(() -> {
                try (OrtSession original = UnpaddedGraphTest.session(Files.readAllBytes(onnx), onnx);
                     OrtSession rewritten = UnpaddedGraphTest.session(fused.model(), onnx)) {
                    float[][][] expected = (float[][][]) UnpaddedGraphTest.run(original, tokens, false, OUTPUT);
                    float[][][] actual = (float[][][]) UnpaddedGraphTest.run(rewritten, tokens, false, OUTPUT);
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

    @Test
    void loaderFusesByDefaultAndEmbedsAsWithout() throws Exception {
        TestData.assumeModel("bge-small-en-v1.5");
        TestData.assumeModel("all-MiniLM-L6-v2");
        LoadedModel.Limits limits = new LoadedModel.Limits(8, 4096, 1, Long.MAX_VALUE, 1);
        assertTrue(limits.fuseGelu(), "on by default");
        assertTrue(LoadedModel.Limits.defaults().fuseGelu(), "on by default");
        TestData.onBigStack(() -> {
            // bge: its first-token graph; MiniLM (mean pooling): its full graph, from the file
            for (String model : List.of("bge-small-en-v1.5", "all-MiniLM-L6-v2")) {
                var spec = ModelSpecReader.read(model, TestData.modelsDir().resolve(model));
                try (LoadedModel fused = LoadedModel.load(spec, limits); LoadedModel plain = LoadedModel.load(spec, limits.withFuseGelu(false))) {
                    var params = new EmbedParams(TEXTS, Task.EMBED, null, null, null, Truncation.MODEL_DEFAULT);
                    List<float[]> expected = plain.embed(params).vectors();
                    List<float[]> actual = fused.embed(params).vectors();
                    for (int t = 0; t < TEXTS.size(); t++) {
                        assertArrayEquals(expected.get(t), actual.get(t), 1e-5f, model + ": text " + t);
                    }
                }
            }
        });
    }

    private static float[] run(byte[] model, float[] x) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
             OrtSession session = env.createSession(model, options);
             OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {1, x.length / 4, 4});
             OrtSession.Result result = session.run(Map.of("x", input))) {
            float[][][] y = (float[][][]) result.get("y").orElseThrow().getValue();
            float[] flat = new float[x.length];
            for (int s = 0; s < y[0].length; s++) {
                System.arraycopy(y[0][s], 0, flat, s * 4, 4);
            }
            return flat;
        }
    }
}
