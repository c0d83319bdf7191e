package io.embedder.core.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.embedder.core.Task;
import io.embedder.core.TestData;
import io.embedder.core.model.ModelSpecReader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The unpadding rewrite on the real graphs: the rewritten graph gives the original's token states at every real
 * position and zeros at padded ones, in batches of very different lengths padded on either side, for the three test
 * models; with the last layer kept padded, the first-token rewrite of it gives what the first-token graph of the file
 * gives. The graphs it must refuse (an int8 graph, an op between the attentions it does not know, a mean over another
 * axis, a graph without an attention mask) are refused with the reason; the loader runs it when asked, plans batches with
 * its padding cost, and embeds as the padded graph does.
 */
class UnpaddedGraphTest {

    private static final String OUTPUT = "last_hidden_state";
    /** Very different lengths, so that most of a batch is padding: a long text, titles, one word. */
    private static final List<String> TEXTS = List.of(
        "The present study is a history of the DEWEY Decimal Classification. The first edition of the DDC was published in 1876, "
            + "the eighteenth edition in 1971, and future editions will continue to appear as needed. In spite of the DDC's "
            + "long and healthy life, however, its full story has never been told.",
        "Use of Information Centres", "Library", "Automatic indexing of documents in a large collection of scientific abstracts",
        "Scientific communication", "A");

    @BeforeAll
    static void djl() {
        DjlEnvironment.configure(Path.of("target/djl-cache"));
    }

    @ParameterizedTest
    @CsvSource({"bge-small-en-v1.5,false", "bge-small-en-v1.5,true", "all-MiniLM-L6-v2,false", "all-MiniLM-L6-v2,true",
        "e5-small-v2,false", "e5-small-v2,true"})
    void tokenStatesEqualTheOriginalsAtRealPositionsAndZerosAtPadding(String model, boolean leftPadding) throws Exception {
        TestData.assumeModel(model);
        Path onnx = TestData.modelsDir().resolve(model).resolve("model.onnx");
        UnpaddedGraph.Rewritten rewritten = assertInstanceOf(UnpaddedGraph.Rewritten.class, UnpaddedGraph.rewrite(onnx, OUTPUT, false));
        int layers = model.equals("all-MiniLM-L6-v2") ? 6 : 12;
        assertEquals(layers, rewritten.layers());
        assertEquals(layers, rewritten.unpadded());
        try (TextTokenizer tokenizer = TextTokenizer.load(model, onnx.resolveSibling("tokenizer.json"))) {
            List<TokenizedText> tokens = TEXTS.stream().map(t -> tokenizer.encode(t, 512, Truncation.MODEL_DEFAULT)).toList();
            TestData.onBigStack(() -> {
                try (OrtSession original = session(Files.readAllBytes(onnx), onnx); OrtSession unpadded = session(rewritten.model(), onnx)) {
                    float[][][] expected = (float[][][]) run(original, tokens, leftPadding, OUTPUT);
                    float[][][] actual = (float[][][]) run(unpadded, tokens, leftPadding, OUTPUT);
                    int seq = expected[0].length;
                    for (int b = 0; b < tokens.size(); b++) {
                        int pad = seq - tokens.get(b).length();
                        for (int s = 0; s < seq; s++) {
                            boolean real = leftPadding ? s >= pad : s < tokens.get(b).length();
                            for (int d = 0; d < expected[b][s].length; d++) {
                                float want = real ? expected[b][s][d] : 0f;
                                assertTrue(Math.abs(want - actual[b][s][d]) <= 1e-4f,
                                    "text " + b + ", position " + s + ", component " + d + ": " + actual[b][s][d] + ", expected " + want);
                            }
                        }
                    }
                } catch (IOException | OrtException e) {
                    throw new IllegalStateException(e);
                }
            });
        }
    }

    @Test
    void firstTokenRewriteOfTheUnpaddedGraphGivesTheFirstTokenGraphsOutput() throws Exception {
        TestData.assumeModel("bge-small-en-v1.5");
        Path onnx = TestData.modelsDir().resolve("bge-small-en-v1.5").resolve("model.onnx");
        UnpaddedGraph.Rewritten kept = assertInstanceOf(UnpaddedGraph.Rewritten.class, UnpaddedGraph.rewrite(onnx, OUTPUT, true));
        assertEquals(12, kept.layers());
        assertEquals(11, kept.unpadded());
        FirstTokenGraph.Rewritten both = assertInstanceOf(FirstTokenGraph.Rewritten.class, FirstTokenGraph.rewrite(ByteBuffer.wrap(kept.model()), OUTPUT));
        FirstTokenGraph.Rewritten firstToken = assertInstanceOf(FirstTokenGraph.Rewritten.class, FirstTokenGraph.rewrite(onnx, OUTPUT));
        try (TextTokenizer tokenizer = TextTokenizer.load("bge", onnx.resolveSibling("tokenizer.json"))) {
            List<TokenizedText> tokens = TEXTS.stream().map(t -> tokenizer.encode(t, 512, Truncation.MODEL_DEFAULT)).toList();
            TestData.onBigStack(() -> {
                try (OrtSession a = session(firstToken.model(), onnx); OrtSession b = session(both.model(), onnx)) {
                    float[][] expected = (float[][]) run(a, tokens, false, firstToken.output());
                    float[][] actual = (float[][]) run(b, tokens, false, both.output());
                    for (int t = 0; t < tokens.size(); t++) {
                        for (int d = 0; d < expected[t].length; d++) {
                            assertTrue(Math.abs(expected[t][d] - actual[t][d]) <= 1e-4f, "text " + t + ", component " + d);
                        }
                    }
                } catch (OrtException e) {
                    throw new IllegalStateException(e);
                }
            });
        }
    }

    @Test
    void int8GraphIsRefused() throws Exception {
        Path onnx = TestData.modelsDir().resolve("bge-small-en-v1.5-q").resolve("model.onnx");
        assumeTrue(Files.isRegularFile(onnx), "model bge-small-en-v1.5-q not built: run with -Pquantized");
        UnpaddedGraph.NotApplicable refused = assertInstanceOf(UnpaddedGraph.NotApplicable.class, UnpaddedGraph.rewrite(onnx, OUTPUT, false));
        // the layer input is a DynamicQuantizeLinear's: a quantized tensor and its scale and zero point
        assertEquals("the keys and values of Softmax [/encoder/layer.0/attention/self/Softmax] share no single computed input", refused.reason());
    }

    @ParameterizedTest
    @ValueSource(strings = {"op", "axes", "relu"})
    void graphsItDoesNotKnowAreRefusedWithTheReason(String edit) throws Exception {
        TestData.assumeModel("bge-small-en-v1.5");
        ByteBuffer bge = ByteBuffer.wrap(Files.readAllBytes(TestData.modelsDir().resolve("bge-small-en-v1.5").resolve("model.onnx")));
        String erf = "/encoder/layer.3/intermediate/intermediate_act_fn/Erf";
        String mean = "/encoder/layer.5/output/LayerNorm/ReduceMean";
        Map<String, String[]> cases = Map.of(
            "op", new String[] {"y", "Transpose [" + erf + "] between the attentions: not known to keep tokens apart"},
            "axes", new String[] {"y", "ReduceMean [" + mean + "] is not a mean over the last axis, kept"},
            "relu", new String[] {"y", "the graph has no input [attention_mask]"});
        ByteBuffer model = switch (edit) {
            case "op" -> GraphEdits.withOpType(bge, erf, "Transpose");
            case "axes" -> GraphEdits.withInts(bge, mean, "axes", List.of(2L));
            default -> GraphEdits.reluModel();
        };
        String output = edit.equals("relu") ? "y" : OUTPUT;
        UnpaddedGraph.NotApplicable refused = assertInstanceOf(UnpaddedGraph.NotApplicable.class, UnpaddedGraph.rewrite(model, output, false));
        assertEquals(cases.get(edit)[1], refused.reason());
    }

    @Test
    void loaderRunsUnpaddedGraphsAndPlansWithTheirPaddingCost() throws Exception {
        TestData.assumeModel("bge-small-en-v1.5");
        TestData.assumeModel("all-MiniLM-L6-v2");
        LoadedModel.Limits limits = new LoadedModel.Limits(8, 4096, 1, Long.MAX_VALUE, 1).withUnpad(true);
        assertEquals(true, LoadedModel.Limits.defaults().unpad(), "on by default");
        TestData.onBigStack(() -> {
            for (String model : List.of("bge-small-en-v1.5", "all-MiniLM-L6-v2")) {
                var spec = ModelSpecReader.read(model, TestData.modelsDir().resolve(model));
                try (LoadedModel unpadded = LoadedModel.load(spec, limits); LoadedModel padded = LoadedModel.load(spec, limits.withUnpad(false))) {
                    assertEquals(UnpaddedGraph.PADDING_COST, unpadded.encoder(Task.EMBED).paddingCost(), model);
                    assertEquals(1.0, padded.encoder(Task.EMBED).paddingCost(), model);
                    assertEquals(model.startsWith("bge"), unpadded.firstTokenGraph(), model);
                    // the same embeddings, end to end (tokenizer, batches cut by each graph's padding cost, pooling)
                    var params = new io.embedder.core.EmbedParams(TEXTS, Task.EMBED, null, null, null, Truncation.MODEL_DEFAULT);
                    List<float[]> expected = padded.embed(params).vectors();
                    List<float[]> actual = unpadded.embed(params).vectors();
                    for (int t = 0; t < TEXTS.size(); t++) {
                        for (int d = 0; d < expected.get(t).length; d++) {
                            assertTrue(Math.abs(expected.get(t)[d] - actual.get(t)[d]) <= 1e-5f, model + ": text " + t + ", component " + d);
                        }
                    }
                }
            }
        });
    }

    /** A session of {@code model} as the embedder opens one (basic level, one thread), its external data beside {@code onnx}. */
    static OrtSession session(byte[] model, Path onnx) throws OrtException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(1);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.BASIC_OPT);
            options.addConfigEntry("session.model_external_initializers_file_folder_path", onnx.toAbsolutePath().getParent().toString());
            return OrtEnvironment.getEnvironment().createSession(model, options);
        }
    }

    /** {@code output} of the padded batch of {@code texts}. */
    static Object run(OrtSession session, List<TokenizedText> texts, boolean leftPadding, String output) throws OrtException {
        int seq = texts.stream().mapToInt(TokenizedText::length).max().orElseThrow();
        BatchBuffers buffers = new BatchBuffers();
        buffers.fill(texts, seq, leftPadding, 1);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] shape = {texts.size(), seq};
        Map<String, OnnxTensor> inputs = new HashMap<>();
        inputs.put(OnnxEncoder.INPUT_IDS, OnnxTensor.createTensor(env, buffers.ids(), shape));
        inputs.put(OnnxEncoder.ATTENTION_MASK, OnnxTensor.createTensor(env, buffers.mask(), shape));
        if (session.getInputNames().contains(OnnxEncoder.TOKEN_TYPE_IDS)) {
            inputs.put(OnnxEncoder.TOKEN_TYPE_IDS, OnnxTensor.createTensor(env, buffers.types(), shape));
        }
        try (OrtSession.Result result = session.run(inputs)) {
            return result.get(output).orElseThrow().getValue();
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }
}
