package io.embedder.core.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.embedder.core.TestData;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The first-token rewrite on the real graphs: the rewritten graph's output equals row 0 of the full graph's
 * {@code last_hidden_state}, on short texts and long ones, alone and in padded batches, for bge-small in fp32 and in
 * int8 (-Pquantized) and for the two other test models (mean-pooled, so the embedder does not rewrite them, but their
 * graphs have the same layer structure). And the graphs the rewrite must refuse, refused with the reason.
 */
class FirstTokenGraphTest {

    private static final String OUTPUT = "last_hidden_state";
    private static List<String> abstracts;
    private static String about300Tokens;

    @BeforeAll
    static void texts() throws IOException {
        TestData.assumeModel("bge-small-en-v1.5");
        DjlEnvironment.configure(Path.of("target/djl-cache"));
        abstracts = new ArrayList<>();
        StringBuilder current = null;
        boolean inText = false;
        for (String line : Files.readAllLines(TestData.shared("cisi/CISI.ALL"))) {
            if (line.startsWith(".I ")) {
                if (current != null) {
                    abstracts.add(current.toString().trim());
                }
                current = new StringBuilder();
                inText = false;
            } else if (line.length() == 2 && line.charAt(0) == '.') {
                inText = line.charAt(1) == 'W';
            } else if (inText && current != null) {
                current.append(line).append(' ');
            }
        }
        abstracts.add(current.toString().trim());
        try (TextTokenizer bge = TextTokenizer.load("bge", TestData.modelsDir().resolve("bge-small-en-v1.5/tokenizer.json"))) {
            about300Tokens = abstracts.stream().filter(a -> Math.abs(bge.encode(a, 512, Truncation.MODEL_DEFAULT).length() - 300) <= 10)
                .findFirst().orElseThrow();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"bge-small-en-v1.5", "all-MiniLM-L6-v2", "e5-small-v2"})
    void firstTokenStateEqualsRowZeroOfTheFullGraph(String model) throws Exception {
        TestData.assumeModel(model);
        Path onnx = TestData.modelsDir().resolve(model).resolve("model.onnx");
        FirstTokenGraph.Rewritten rewritten = rewritten(onnx);
        assertFalse(rewritten.approximate());
        compare(model, onnx, rewritten, (text, full, first) -> {
            assertTrue(maxDiff(full, first) <= 1e-4, text + ": max difference " + maxDiff(full, first));
            assertTrue(cosine(full, first) > 0.99999, text + ": cosine " + cosine(full, first));
        });
    }

    /**
     * int8 with dynamic quantization cannot be exact: DynamicQuantizeLinear takes one scale over the whole tensor (the
     * whole padded batch), so the full graph's own output for a text changes with the texts beside it. The rewritten
     * graph quantizes the query side over the first tokens only: its output stays within 0.02 per component (cosine
     * above 0.9999) of the full graph's, several times closer than the full graph is to itself when the same text
     * runs alone instead of in the batch.
     */
    @Test
    void int8FirstTokenStateIsCloserToTheFullGraphThanTheFullGraphIsToItselfAcrossBatches() throws Exception {
        String model = "bge-small-en-v1.5-q";
        assumeTrue(java.nio.file.Files.isRegularFile(TestData.modelsDir().resolve(model).resolve("model.onnx")),
            "model " + model + " not built: run with -Pquantized");
        Path onnx = TestData.modelsDir().resolve(model).resolve("model.onnx");
        FirstTokenGraph.Rewritten rewritten = rewritten(onnx);
        assertTrue(rewritten.approximate());
        try (TextTokenizer tokenizer = TextTokenizer.load(model, TestData.modelsDir().resolve(model).resolve("tokenizer.json"))) {
            TestData.onBigStack(() -> {
                try (OrtSession full = session(onnx); OrtSession pruned = session(rewritten)) {
                    for (List<String> texts : batches().subList(1, 3)) {
                        List<TokenizedText> tokens = tokenize(tokenizer, texts);
                        float[][][] states = (float[][][]) run(full, tokens, OUTPUT);
                        float[][] first = (float[][]) run(pruned, tokens, rewritten.output());
                        for (int b = 0; b < texts.size(); b++) {
                            float[] alone = ((float[][][]) run(full, List.of(tokens.get(b)), OUTPUT))[0][0];
                            String text = texts.get(b).substring(0, Math.min(40, texts.get(b).length()));
                            assertTrue(maxDiff(states[b][0], first[b]) <= 0.02, text + ": max difference " + maxDiff(states[b][0], first[b]));
                            assertTrue(cosine(states[b][0], first[b]) > 0.9999, text + ": cosine " + cosine(states[b][0], first[b]));
                            assertTrue(3 * maxDiff(states[b][0], first[b]) < maxDiff(states[b][0], alone),
                                text + ": rewritten " + maxDiff(states[b][0], first[b]) + ", full alone " + maxDiff(states[b][0], alone));
                        }
                    }
                }
            });
        }
    }

    @Test
    void rewrittenGraphHasOneOutputOfBatchByDimAndEveryOtherFieldUnchanged() throws Exception {
        TestData.assumeModel("bge-small-en-v1.5");
        Path onnx = TestData.modelsDir().resolve("bge-small-en-v1.5").resolve("model.onnx");
        ByteBuffer original = ByteBuffer.wrap(Files.readAllBytes(onnx));
        FirstTokenGraph.Rewritten contained = assertInstanceOf(FirstTokenGraph.Rewritten.class, FirstTokenGraph.rewrite(original, OUTPUT));
        FirstTokenGraph.Rewritten external = rewritten(onnx);
        assertEquals("first_token_state", contained.output());
        // layer 11 but its key and value paths (30 nodes): 71 nodes, 15 of them Constants and 14 the Reshapes' shapes
        assertEquals(71, contained.queryNodes());
        assertEquals(null, contained.weightsFile());
        assertEquals(onnx, external.weightsFile());
        OnnxGraph before = OnnxGraph.parse(original);
        OnnxGraph after = OnnxGraph.parse(ByteBuffer.wrap(contained.model()));
        assertEquals(before.nodes().size() + 4, after.nodes().size()); // two Gathers and their two index Constants
        assertEquals(List.of("first_token_state"), after.outputs().stream().map(OnnxGraph.ValueInfo::name).toList());
        assertEquals(before.inputs().stream().map(OnnxGraph.ValueInfo::name).toList(), after.inputs().stream().map(OnnxGraph.ValueInfo::name).toList());
        assertEquals(unchangedFields(original, true), unchangedFields(ByteBuffer.wrap(contained.model()), true));
        assertEquals(unchangedFields(original, false), unchangedFields(ByteBuffer.wrap(external.model()), false));
        // with the weights left in the file: every initializer over 1 KB points at its own bytes there
        assertTrue(external.model().length < 400_000, external.model().length + " bytes");
        assertEquals(before.initializers().size(), externalWeightsMatching(original, ByteBuffer.wrap(external.model())) + smallInitializers(original));
        try (TextTokenizer tokenizer = TextTokenizer.load("bge", onnx.resolveSibling("tokenizer.json"))) {
            List<TokenizedText> tokens = tokenize(tokenizer, batches().get(2));
            TestData.onBigStack(() -> {
                try (OrtSession a = session(contained); OrtSession b = session(external)) {
                    assertEquals(Set.of("first_token_state"), a.getOutputNames());
                    assertArrayEquals(new long[] {-1, 384}, ((TensorInfo) a.getOutputInfo().get("first_token_state").getInfo()).getShape());
                    assertArrayEquals((float[][]) run(a, tokens, "first_token_state"), (float[][]) run(b, tokens, "first_token_state"));
                }
            });
        }
    }

    /** Initializers of the external form whose reference (offset, length) in the file holds the original's raw bytes. */
    private static int externalWeightsMatching(ByteBuffer original, ByteBuffer external) {
        Map<String, ByteBuffer> raw = new java.util.HashMap<>();
        for (ProtoWire.Field init : graphFields(original, OnnxGraph.GRAPH_INITIALIZER)) {
            List<ProtoWire.Field> t = init.children();
            t.stream().filter(x -> x.number() == OnnxGraph.TENSOR_RAW_DATA).findFirst()
                .ifPresent(r -> raw.put(name(t), original.slice((int) r.absoluteValueStart(), r.valueLength())));
        }
        int matching = 0;
        for (ProtoWire.Field init : graphFields(external, OnnxGraph.GRAPH_INITIALIZER)) {
            List<ProtoWire.Field> t = init.children();
            Map<String, String> data = new java.util.HashMap<>();
            for (ProtoWire.Field e : t) {
                if (e.number() == OnnxGraph.TENSOR_EXTERNAL_DATA) {
                    List<ProtoWire.Field> kv = e.children();
                    data.put(kv.get(0).string(), kv.get(1).string());
                }
            }
            if (!data.isEmpty()) {
                assertEquals("model.onnx", data.get("location"));
                ByteBuffer at = original.slice(Integer.parseInt(data.get("offset")), Integer.parseInt(data.get("length")));
                assertEquals(raw.get(name(t)), at, name(t));
                matching++;
            }
        }
        return matching;
    }

    private static int smallInitializers(ByteBuffer model) {
        int n = 0;
        for (ProtoWire.Field init : graphFields(model, OnnxGraph.GRAPH_INITIALIZER)) {
            if (init.children().stream().noneMatch(x -> x.number() == OnnxGraph.TENSOR_RAW_DATA && x.valueLength() >= OnnxGraph.EXTERNAL_MIN_BYTES)) {
                n++;
            }
        }
        return n;
    }

    private static String name(List<ProtoWire.Field> tensor) {
        return tensor.stream().filter(x -> x.number() == OnnxGraph.TENSOR_NAME).findFirst().orElseThrow().string();
    }

    private static List<ProtoWire.Field> graphFields(ByteBuffer model, int number) {
        ProtoWire.Field graph = ProtoWire.fields(model).stream().filter(f -> f.number() == OnnxGraph.MODEL_GRAPH).findFirst().orElseThrow();
        return graph.children().stream().filter(f -> f.number() == number).toList();
    }

    @Test
    void refusesWhatItDoesNotRecognize() throws Exception {
        TestData.assumeModel("bge-small-en-v1.5");
        Path onnx = TestData.modelsDir().resolve("bge-small-en-v1.5").resolve("model.onnx");
        ByteBuffer model = ByteBuffer.wrap(Files.readAllBytes(onnx));
        assertEquals(new FirstTokenGraph.NotApplicable("the graph has no computed output [pooler_output]"),
            FirstTokenGraph.rewrite(model, "pooler_output"));
        assertEquals(new FirstTokenGraph.NotApplicable("not a readable ONNX model: wire type 7 at byte 0"),
            FirstTokenGraph.rewrite(ByteBuffer.wrap(new byte[] {(byte) 0x0f, 1, 2}), OUTPUT));
        // the query's Reshape takes its sequence length from the key projection, computed over all tokens
        String shape5 = "/encoder/layer.11/attention/self/Shape_5";
        String keys = "/encoder/layer.11/attention/self/key/Add_output_0";
        assertEquals(new FirstTokenGraph.NotApplicable("Shape [" + shape5 + "] reads [" + keys + "], computed from all tokens of the layer input"),
            FirstTokenGraph.rewrite(GraphEdits.withInput(model, shape5, 0, keys), OUTPUT));
        // the last LayerNorm's mean taken over the tokens
        String mean = "/encoder/layer.11/output/LayerNorm/ReduceMean";
        assertEquals(new FirstTokenGraph.NotApplicable("ReduceMean [" + mean + "] reduces over the token axis"),
            FirstTokenGraph.rewrite(GraphEdits.withInts(model, mean, "axes", List.of(1L)), OUTPUT));
        // an op not known to keep tokens apart on the query side
        String gelu = "/encoder/layer.11/intermediate/intermediate_act_fn/Erf";
        assertEquals(new FirstTokenGraph.NotApplicable("CumSum [" + gelu + "] on a token tensor in the last layer: not known to keep tokens apart"),
            FirstTokenGraph.rewrite(GraphEdits.withOpType(model, gelu, "CumSum"), OUTPUT));
        // no attention at all
        assertEquals(new FirstTokenGraph.NotApplicable("no Softmax computes output [y]: not an attention layer"),
            FirstTokenGraph.rewrite(GraphEdits.reluModel(), "y"));
    }

    /**
     * What the rewrite copies as it is: every model field but the graph, every graph field but nodes, outputs,
     * value_info, and the initializers unless {@code withInitializers}.
     */
    private static List<ByteBuffer> unchangedFields(ByteBuffer model, boolean withInitializers) {
        List<ByteBuffer> out = new ArrayList<>();
        for (ProtoWire.Field f : ProtoWire.fields(model)) {
            if (f.number() != OnnxGraph.MODEL_GRAPH) {
                out.add(f.raw());
            } else {
                for (ProtoWire.Field g : ProtoWire.fields(f.value())) {
                    if (g.number() != OnnxGraph.GRAPH_NODE && g.number() != OnnxGraph.GRAPH_OUTPUT && g.number() != OnnxGraph.GRAPH_VALUE_INFO
                        && (withInitializers || g.number() != OnnxGraph.GRAPH_INITIALIZER)) {
                        out.add(g.raw());
                    }
                }
            }
        }
        return out;
    }

    private static FirstTokenGraph.Rewritten rewritten(Path onnx) throws IOException {
        FirstTokenGraph.Outcome outcome = FirstTokenGraph.rewrite(onnx, OUTPUT);
        return assertInstanceOf(FirstTokenGraph.Rewritten.class, outcome, outcome.toString());
    }

    /** Texts alone and in right-padded batches: short ones, CISI abstracts of about 110, 170 and 300 tokens, one cut at 512. */
    private static List<List<String>> batches() {
        return List.of(
            List.of("warm-up"),
            List.of("What is information retrieval?", "a", "Library classification schemes organise documents by subject."),
            List.of(abstracts.get(0), "short text in a long batch", abstracts.get(1), about300Tokens),
            List.of(longest(abstracts)));
    }

    interface RowCheck {
        void check(String text, float[] fullRowZero, float[] firstToken);
    }

    private static void compare(String model, Path onnx, FirstTokenGraph.Rewritten rewritten, RowCheck check) throws Exception {
        try (TextTokenizer tokenizer = TextTokenizer.load(model, TestData.modelsDir().resolve(model).resolve("tokenizer.json"))) {
            TestData.onBigStack(() -> {
                try (OrtSession full = session(onnx); OrtSession pruned = session(rewritten)) {
                    for (List<String> texts : batches()) {
                        List<TokenizedText> tokens = tokenize(tokenizer, texts);
                        float[][][] states = (float[][][]) run(full, tokens, OUTPUT);
                        float[][] first = (float[][]) run(pruned, tokens, rewritten.output());
                        assertEquals(texts.size(), first.length);
                        for (int b = 0; b < texts.size(); b++) {
                            check.check(texts.get(b).substring(0, Math.min(40, texts.get(b).length())) + " (" + tokens.get(b).length()
                                + " tokens, batch of " + texts.size() + ")", states[b][0], first[b]);
                        }
                    }
                }
            });
        }
    }

    private static List<TokenizedText> tokenize(TextTokenizer tokenizer, List<String> texts) {
        return texts.stream().map(t -> tokenizer.encode(t, 512, Truncation.MODEL_DEFAULT)).toList();
    }

    private static String longest(List<String> texts) {
        return texts.stream().max(java.util.Comparator.comparingInt(String::length)).orElseThrow();
    }

    static OrtSession session(Path file) throws OrtException {
        return session(file, null);
    }

    /** A session of the rewritten graph, told where its weights are when they stayed in the original file. */
    static OrtSession session(FirstTokenGraph.Rewritten rewritten) throws OrtException {
        return session(null, rewritten);
    }

    private static OrtSession session(Path file, FirstTokenGraph.Rewritten rewritten) throws OrtException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(1);
            options.setInterOpNumThreads(1);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            if (file != null) {
                return env.createSession(file.toString(), options);
            }
            if (rewritten.weightsFile() != null) {
                options.addConfigEntry("session.model_external_initializers_file_folder_path",
                    rewritten.weightsFile().toAbsolutePath().getParent().toString());
            }
            return env.createSession(rewritten.model(), options);
        }
    }

    /** Runs right-padded {@code texts} and returns {@code output}'s value. */
    static Object run(OrtSession session, List<TokenizedText> texts, String output) throws OrtException {
        int batch = texts.size();
        int seq = texts.stream().mapToInt(TokenizedText::length).max().orElseThrow();
        long[] ids = new long[batch * seq];
        long[] mask = new long[batch * seq];
        long[] types = new long[batch * seq];
        for (int b = 0; b < batch; b++) {
            TokenizedText t = texts.get(b);
            System.arraycopy(t.ids(), 0, ids, b * seq, t.length());
            System.arraycopy(t.typeIds(), 0, types, b * seq, t.length());
            for (int i = 0; i < t.length(); i++) {
                mask[b * seq + i] = 1;
            }
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] shape = {batch, seq};
        try (OnnxTensor i = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
             OnnxTensor m = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
             OnnxTensor ty = OnnxTensor.createTensor(env, LongBuffer.wrap(types), shape);
             OrtSession.Result r = session.run(Map.of("input_ids", i, "attention_mask", m, "token_type_ids", ty), Set.of(output))) {
            return r.get(0).getValue();
        }
    }

    static double maxDiff(float[] a, float[] b) {
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        return worst;
    }

    static double cosine(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
