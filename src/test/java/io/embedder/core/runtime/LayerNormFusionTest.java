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
 * The residual LayerNorm fusion: on a hand-built post-LN block its one node computes the hand-computed values; other
 * shapes are left alone; on the real graphs every residual LayerNorm is fused and the token states are the original's;
 * the loader fuses by default (full, first-token and unpadded graphs) and embeds as without it.
 */
class LayerNormFusionTest {

    private static final String OUTPUT = "last_hidden_state";
    private static final List<String> TEXTS = List.of(
        "The present study is a history of the DEWEY Decimal Classification. The first edition of the DDC was published in 1876.",
        "Use of Information Centres", "Library", "A");

    @BeforeAll
    static void djl() {
        DjlEnvironment.configure(Path.of("target/djl-cache"));
    }

    @Test
    void fusedBlockGivesTheHandComputedValues() throws Exception {
        NodeFusion.Fused fused = LayerNormFusion.rewrite(GraphEdits.layerNormModel(2f, true), null);
        assertEquals(1, fused.fused());
        OnnxGraph graph = OnnxGraph.parse(ByteBuffer.wrap(fused.model()));
        List<String> ops = graph.nodes().stream().map(OnnxGraph.Node::opType).toList();
        assertEquals(List.of("ReduceMean", "Sub", "Constant", "Pow", "ReduceMean", "Constant", "Add", "Sqrt", "Div", "Mul", "Add", "MatMul", "Add",
            "SkipLayerNormalization"), ops, "r's own LayerNorm and the bias Add stay; the residual Add and the second LayerNorm are one node");
        OnnxGraph.Node skip = graph.nodes().get(ops.size() - 1);
        assertEquals(NodeFusion.CONTRIB_DOMAIN, skip.domain());
        assertEquals(List.of("h", "r1", "g2", "b2"), skip.inputs(), "input, skip, gamma, beta");
        assertEquals(List.of("y"), skip.outputs());
        // r = [-1, -1, 1, 1] → r1 = r; [2, 2, 2, 2] → r1 = 0. s = x + [0, 1, 0, 2] + r1 = [1, 0, 2, 4] and [1, 2, 1, 3]:
        // means 1.75, variances 2.1875 and 0.6875; y = (s - mean) / √variance · [1, 2, ½, 1] + [0, 0, 0, 1]
        float[] x = {2, 0, 1, 1, 1, 1, 1, 1};
        float[] r = {-1, -1, 1, 1, 2, 2, 2, 2};
        float[] expected = {-0.50709255f, -2.36643191f, 0.08451543f, 2.52127766f, -0.90453403f, 0.60302269f, -0.45226702f, 2.50755672f};
        assertArrayEquals(expected, run(GraphEdits.layerNormModel(2f, true).array(), x, r), 2e-6f, "the graph as PyTorch exports it");
        assertArrayEquals(expected, run(fused.model(), x, r), 2e-6f, "the fused graph");
    }

    @Test
    void otherShapesAreLeftAlone() {
        NodeFusion.Fused cubes = LayerNormFusion.rewrite(GraphEdits.layerNormModel(3f, true), null);
        assertEquals(0, cubes.fused(), "a mean of cubes is no variance");
        assertNull(cubes.model());
        assertEquals(0, LayerNormFusion.rewrite(GraphEdits.layerNormModel(2f, false), null).fused(),
            "the residual operand is no LayerNorm's output (as in the embeddings' sum)");
        assertEquals(0, LayerNormFusion.rewrite(GraphEdits.geluModel(0.5f, false), null).fused());
    }

    @ParameterizedTest
    @CsvSource({"bge-small-en-v1.5,24", "all-MiniLM-L6-v2,12", "e5-small-v2,24"})
    void everyResidualLayerNormIsFusedAndTokenStatesAreTheOriginals(String model, int residuals) throws Exception {
        TestData.assumeModel(model);
        Path onnx = TestData.modelsDir().resolve(model).resolve("model.onnx");
        NodeFusion.Fused fused;
        try (FileChannel channel = FileChannel.open(onnx, StandardOpenOption.READ)) {
            fused = LayerNormFusion.rewrite(channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size()), onnx.getFileName().toString());
        }
        assertEquals(residuals, fused.fused());
        assertTrue(fused.model().length < 1 << 20, "the weights stay in the file: " + fused.model().length + " bytes");
        OnnxGraph graph = OnnxGraph.parse(ByteBuffer.wrap(fused.model()));
        assertEquals(2, graph.nodes().stream().filter(n -> n.opType().equals("ReduceMean")).count(), "the embeddings' LayerNorm stays");
        assertEquals(residuals, graph.nodes().stream().filter(n -> n.opType().equals("SkipLayerNormalization")).count());
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
        assertTrue(limits.fuseLayerNorm(), "on by default");
        assertTrue(LoadedModel.Limits.defaults().fuseLayerNorm(), "on by default");
        TestData.onBigStack(() -> {
            // bge: its first-token graph, padded and unpadded; MiniLM (mean pooling): its full graph from the file, and unpadded
            for (LoadedModel.Limits graphs : List.of(limits, limits.withUnpad(true))) {
                for (String model : List.of("bge-small-en-v1.5", "all-MiniLM-L6-v2")) {
                    var spec = ModelSpecReader.read(model, TestData.modelsDir().resolve(model));
                    try (LoadedModel fused = LoadedModel.load(spec, graphs);
                         LoadedModel plain = LoadedModel.load(spec, graphs.withFuseGelu(false).withFuseLayerNorm(false))) {
                        var params = new EmbedParams(TEXTS, Task.EMBED, null, null, null, Truncation.MODEL_DEFAULT);
                        List<float[]> expected = plain.embed(params).vectors();
                        List<float[]> actual = fused.embed(params).vectors();
                        for (int t = 0; t < TEXTS.size(); t++) {
                            assertArrayEquals(expected.get(t), actual.get(t), 1e-5f, model + (graphs.unpad() ? ", unpadded" : "") + ": text " + t);
                        }
                    }
                }
            }
        });
    }

    private static float[] run(byte[] model, float[] x, float[] r) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] shape = {1, x.length / 4, 4};
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
             OrtSession session = env.createSession(model, options);
             OnnxTensor xs = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), shape);
             OnnxTensor rs = OnnxTensor.createTensor(env, FloatBuffer.wrap(r), shape);
             OrtSession.Result result = session.run(Map.of("x", xs, "r", rs))) {
            float[][][] y = (float[][][]) result.get("y").orElseThrow().getValue();
            float[] flat = new float[x.length];
            for (int s = 0; s < y[0].length; s++) {
                System.arraycopy(y[0][s], 0, flat, s * 4, 4);
            }
            return flat;
        }
    }
}
