package io.embedder.core.runtime;

import io.embedder.core.EmbedParams;
import io.embedder.core.EmbedderException;
import io.embedder.core.Embeddings;
import io.embedder.core.Role;
import io.embedder.core.Task;
import io.embedder.core.TestData;
import io.embedder.core.lateinteraction.TokenEmbedSettings;
import io.embedder.core.lateinteraction.TokenOptions;
import io.embedder.core.model.ModelSpec;
import io.embedder.core.model.Sourced;
import io.embedder.core.pooling.Pooling;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The pipeline (prompt, tokenize, batch, pad, pool, truncate, normalize) on bge-small's real tokenizer with a fake
 * encoder whose token state is a function of the token id: state[d] = id × (d + 1), and 1e6 at padding positions,
 * so a padding leak shows at once. Expected vectors are worked out by hand from the word-piece ids.
 */
class LoadedModelTest {

    private static final int DIM = 4;
    private static TextTokenizer tokenizer;
    private static final List<Integer> batchSizes = new ArrayList<>();

    @BeforeAll
    static void load() {
        TestData.assumeModel("bge-small-en-v1.5");
        DjlEnvironment.configure(Path.of("target/djl-cache"));
        tokenizer = TextTokenizer.load("bge", TestData.modelsDir().resolve("bge-small-en-v1.5/tokenizer.json"));
    }

    @AfterAll
    static void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
    }

    private static final LoadedModel.Encoder FAKE = new LoadedModel.Encoder() {
        @Override
        public HiddenStates run(BatchBuffers buffers, int batch, int seq, int dim) {
            batchSizes.add(batch);
            for (int i = 0; i < batch * seq; i++) {
                for (int d = 0; d < dim; d++) {
                    buffers.output().put(i * dim + d, buffers.mask().get(i) == 0 ? 1e6f : buffers.ids().get(i) * (d + 1));
                }
            }
            return new HiddenStates(buffers.output(), buffers.mask(), batch, seq, dim, false);
        }

        @Override
        public void close() {}
    };

    private static LoadedModel model(Pooling pooling, String padding, List<Integer> matryoshka, Map<String, String> prompts) {
        ModelSpec spec = new ModelSpec("fake", Path.of("model.onnx"), Path.of("tokenizer.json"), "last_hidden_state",
            Sourced.of(pooling, "test"), Sourced.of(false, "test"), Sourced.of(512, "test"), null, -1, Sourced.of(DIM, "test"),
            Sourced.of(prompts, "test"), null, Sourced.of(matryoshka, "test"), Sourced.of(padding, "test"));
        return new LoadedModel(spec, tokenizer, FAKE, DIM, new LoadedModel.Limits(8, 4096, 1, Long.MAX_VALUE, 2));
    }

    private static EmbedParams params(Task task, Boolean normalize, Integer dims, String... texts) {
        return new EmbedParams(List.of(texts), task, null, normalize, dims, Truncation.MODEL_DEFAULT);
    }

    // word pieces: [CLS]=101, hello=7592, world=2088, !=999, [SEP]=102

    @Test
    void clsAndLastTokenUnderLeftAndRightPadding() {
        for (String padding : List.of("right", "left")) {
            LoadedModel cls = model(Pooling.CLS, padding, List.of(), Map.of());
            LoadedModel last = model(Pooling.LAST_TOKEN, padding, List.of(), Map.of());
            // one batch: "hello" (3 tokens) is padded to the length of "hello world!" (5 tokens)
            Embeddings c = cls.embed(params(Task.EMBED, false, null, "hello world!", "hello"));
            Embeddings l = last.embed(params(Task.EMBED, false, null, "hello world!", "hello"));
            for (int text = 0; text < 2; text++) {
                assertArrayEquals(new float[] {101, 202, 303, 404}, c.vectors().get(text), padding);
                assertArrayEquals(new float[] {102, 204, 306, 408}, l.vectors().get(text), padding);
            }
        }
    }

    @Test
    void meanAndMaxIgnorePaddingAndKeepInputOrder() {
        LoadedModel mean = model(Pooling.MEAN, "right", List.of(), Map.of());
        Embeddings e = mean.embed(params(Task.EMBED, false, null, "hello world!", "hello"));
        // "hello world!": (101 + 7592 + 2088 + 999 + 102) / 5 = 2176.4; "hello": (101 + 7592 + 102) / 3 = 2598.333
        assertArrayEquals(new float[] {2176.4f, 4352.8f, 6529.2f, 8705.6f}, e.vectors().get(0), 1e-3f);
        assertArrayEquals(new float[] {2598.3333f, 5196.6667f, 7795f, 10393.333f}, e.vectors().get(1), 1e-3f);
        LoadedModel max = model(Pooling.MAX, "left", List.of(), Map.of());
        assertArrayEquals(new float[] {7592, 15184, 22776, 30368}, max.embed(params(Task.EMBED, false, null, "hello world!", "hello")).vectors().get(1));
    }

    @Test
    void normalizeAndMatryoshka() {
        LoadedModel m = model(Pooling.CLS, "right", List.of(2, DIM), Map.of());
        // CLS state (101, 202, 303, 404) ∝ (1, 2, 3, 4): normalized by √30; truncated to 2 then normalized by √5
        double r30 = Math.sqrt(30), r5 = Math.sqrt(5);
        assertArrayEquals(new float[] {(float) (1 / r30), (float) (2 / r30), (float) (3 / r30), (float) (4 / r30)},
            m.embed(params(Task.EMBED, true, null, "hello")).vectors().get(0), 1e-6f);
        Embeddings two = m.embed(params(Task.EMBED, true, 2, "hello"));
        assertEquals(2, two.dimensions());
        assertArrayEquals(new float[] {(float) (1 / r5), (float) (2 / r5)}, two.vectors().get(0), 1e-6f);
        assertArrayEquals(new float[] {101, 202}, m.embed(params(Task.EMBED, false, 2, "hello")).vectors().get(0));
    }

    @Test
    void dimensionsAreValidatedAgainstTheModel() {
        EmbedderException notDeclared = assertThrows(EmbedderException.class,
            () -> model(Pooling.CLS, "right", List.of(), Map.of()).embed(params(Task.EMBED, null, 2, "hello")));
        assertEquals("[dimensions] [2]: model [fake] is not declared Matryoshka (no matryoshka_dimensions in its "
            + "embedder-model.json); omit [dimensions] or use 4", notDeclared.getMessage());
        EmbedderException outside = assertThrows(EmbedderException.class,
            () -> model(Pooling.CLS, "right", List.of(2, 4), Map.of()).embed(params(Task.EMBED, null, 3, "hello")));
        assertEquals("[dimensions] [3] is not one of model [fake]'s Matryoshka dimensions [2, 4]", outside.getMessage());
        assertEquals(4, model(Pooling.CLS, "right", List.of(), Map.of()).embed(params(Task.EMBED, null, 4, "hello")).dimensions());
    }

    /** By default the tokenizer's special tokens go ([CLS] hello world ! [SEP] → hello world !); the request may keep them. */
    @Test
    void tokenEmbedReturnsTheTextsTokens() {
        LoadedModel m = model(Pooling.CLS, "left", List.of(), Map.of());
        Embeddings e = m.embed(params(Task.TOKEN_EMBED, false, null, "hello", "hello world!"));
        assertEquals(1, e.tokens().get(0).length);
        assertEquals(3, e.tokens().get(1).length);
        assertArrayEquals(new float[] {2088, 4176, 6264, 8352}, e.tokens().get(1)[1]);
        assertEquals(List.of(), e.vectors());
        Embeddings all = m.embed(tokenParams(new TokenOptions(false, null, 1), "hello", "hello world!"));
        assertEquals(3, all.tokens().get(0).length);
        assertEquals(5, all.tokens().get(1).length);
        assertArrayEquals(new float[] {101, 202, 303, 404}, all.tokens().get(1)[0]);
        assertArrayEquals(new float[] {2088, 4176, 6264, 8352}, all.tokens().get(1)[2]);
    }

    /** drop_punctuation drops the model's punctuation tokens ("!" = 999 here); pool_factor needs the document role. */
    @Test
    void tokenEmbedOptions() {
        ModelSpec base = model(Pooling.CLS, "right", List.of(), Map.of()).spec();
        ModelSpec spec = new ModelSpec(base.name(), base.onnxFile(), base.tokenizerFile(), base.outputName(), base.pooling(), base.normalize(),
            base.maxTokens(), base.tokenizerMaxLength(), base.maxTokenId(), base.dimensions(), base.prompts(), base.defaultPromptName(),
            base.matryoshkaDimensions(), base.paddingSide(), new TokenEmbedSettings(Set.of(999L), null));
        LoadedModel m = new LoadedModel(spec, tokenizer, FAKE, DIM, new LoadedModel.Limits(8, 4096, 1, Long.MAX_VALUE, 2));
        float[][] kept = m.embed(tokenParams(new TokenOptions(null, true, 1), "hello world!")).tokens().get(0);
        assertEquals(2, kept.length);
        assertArrayEquals(new float[] {2088, 4176, 6264, 8352}, kept[1]);
        assertEquals("[pool_factor] [2] pools documents only: use [role] [document] or omit [pool_factor]",
            assertThrows(EmbedderException.class, () -> m.embed(tokenParams(new TokenOptions(null, null, 2), "hello"))).getMessage());
    }

    private static EmbedParams tokenParams(TokenOptions options, String... texts) {
        return new EmbedParams(List.of(texts), Task.TOKEN_EMBED, null, false, null, Truncation.MODEL_DEFAULT, options);
    }

    @Test
    void poolingAndTaskMustAgree() {
        EmbedderException all = assertThrows(EmbedderException.class,
            () -> model(Pooling.ALL, "right", List.of(), Map.of()).embed(params(Task.EMBED, null, null, "x")));
        assertEquals("model [fake] has pooling [all] (token-level output): use task [token_embed]", all.getMessage());
        EmbedderException none = assertThrows(EmbedderException.class,
            () -> model(Pooling.NONE, "right", List.of(), Map.of()).embed(params(Task.TOKEN_EMBED, null, null, "x")));
        assertEquals("model [fake] has pooling [none] (its graph pools): task [token_embed] needs token states", none.getMessage());
    }

    @Test
    void rolesPickPromptsTheWaySentenceTransformersDoes() {
        LoadedModel m = model(Pooling.CLS, "right", List.of(), Map.of("query", "query: ", "passage", "passage: "));
        assertEquals("query: ", m.prompt(Role.QUERY));
        assertEquals("passage: ", m.prompt(Role.DOCUMENT));
        assertEquals("", m.prompt(null));
        // "query: hello" → [CLS] query : hello [SEP]: the prompt's tokens are part of the text (the special tokens go)
        Embeddings e = m.embed(new EmbedParams(List.of("hello"), Task.TOKEN_EMBED, Role.QUERY, false, null, Truncation.MODEL_DEFAULT));
        assertEquals(3, e.tokens().get(0).length);
    }

    @Test
    void batchesAreCutByTheTokenBudget() {
        ModelSpec spec = model(Pooling.CLS, "right", List.of(), Map.of()).spec();
        LoadedModel small = new LoadedModel(spec, tokenizer, FAKE, DIM, new LoadedModel.Limits(2, 4096, 1, Long.MAX_VALUE, 2));
        batchSizes.clear();
        Embeddings e = small.embed(params(Task.EMBED, false, null, "a", "b", "c", "d", "e"));
        assertEquals(List.of(2, 2, 1), batchSizes);
        assertEquals(5, e.vectors().size());
    }

    @Test
    void theBatchObserverSeesEachRunsSizeTokensAndPadding() {
        ModelSpec spec = model(Pooling.CLS, "right", List.of(), Map.of()).spec();
        LoadedModel small = new LoadedModel(spec, tokenizer, FAKE, DIM, new LoadedModel.Limits(2, 4096, 1, Long.MAX_VALUE, 2));
        List<List<Integer>> seen = new ArrayList<>();
        small.embed(params(Task.EMBED, false, null, "hello world!", "hello", "a b"),
            (size, realTokens, allTokens, nanos) -> seen.add(List.of(size, realTokens, allTokens)));
        // sorted by length: "hello" (3 tokens) and "a b" (4) padded to 4, then "hello world!" (5) alone
        assertEquals(List.of(List.of(2, 7, 8), List.of(1, 5, 5)), seen);
    }

    /**
     * Through the scheduler, token vectors come from each text's own positions under left padding too (a padding leak
     * would show as 1e6), equal to the calling thread's; the observer sees the same batch.
     */
    @Test
    void theSchedulerFindsEachTextsTokensUnderLeftPadding() throws Exception {
        LoadedModel m = model(Pooling.CLS, "left", List.of(), Map.of());
        EmbedParams params = tokenParams(new TokenOptions(false, null, 1), "hello", "hello world!");
        List<List<Integer>> seen = new ArrayList<>();
        Embeddings direct = m.embed(params, (size, realTokens, allTokens, nanos) -> seen.add(List.of(size, realTokens, allTokens)));
        try (InferenceScheduler s = new InferenceScheduler(1, 0, new LoadedModel.Limits(8, 4096, 1, Long.MAX_VALUE, 1, 0, 0), 1 << 20)) {
            Embeddings scheduled = s.embed(m, params, (size, realTokens, allTokens, nanos) -> seen.add(List.of(size, realTokens, allTokens)))
                .get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertArrayEquals(direct.tokens().toArray(), scheduled.tokens().toArray());
        }
        // [CLS] hello [SEP] and [CLS] hello world ! [SEP]: 8 tokens, padded to 2 × 5
        assertEquals(List.of(List.of(2, 8, 10), List.of(2, 8, 10)), seen);
        assertArrayEquals(new float[] {2088, 4176, 6264, 8352}, direct.tokens().get(1)[2]);
    }

    /**
     * A model whose dense embeddings run a first-token graph runs token-level texts on its other graph: the scheduler
     * never puts the two in one batch, though with one graph it does. The dense graph here gives the first token's fake
     * state, one vector per text.
     */
    @Test
    void denseAndTokenLevelTextsRunApartWhenTheModelHasAFirstTokenGraph() throws Exception {
        List<String> ran = java.util.Collections.synchronizedList(new ArrayList<>());
        LoadedModel.Encoder firstToken = new LoadedModel.Encoder() {
            @Override
            public HiddenStates run(BatchBuffers buffers, int batch, int seq, int dim) {
                ran.add("first-token " + batch);
                for (int b = 0; b < batch; b++) {
                    for (int d = 0; d < dim; d++) {
                        buffers.output().put(b * dim + d, buffers.ids().get(b * seq) * (d + 1));
                    }
                }
                return new HiddenStates(buffers.output(), buffers.mask(), batch, 1, dim, true);
            }

            @Override
            public boolean pooled() {
                return true;
            }

            @Override
            public void close() {}
        };
        LoadedModel.Encoder full = new LoadedModel.Encoder() {
            @Override
            public HiddenStates run(BatchBuffers buffers, int batch, int seq, int dim) {
                ran.add("full " + batch);
                return FAKE.run(buffers, batch, seq, dim);
            }

            @Override
            public void close() {}
        };
        LoadedModel one = model(Pooling.CLS, "right", List.of(), Map.of());
        LoadedModel two = new LoadedModel(one.spec(), tokenizer, firstToken, full, DIM, new LoadedModel.Limits(8, 4096, 1, Long.MAX_VALUE, 2), 0);
        EmbedParams dense = params(Task.EMBED, false, null, "hello world!", "hello");
        EmbedParams tokens = tokenParams(new TokenOptions(false, null, 1), "hello", "hello world!");
        for (LoadedModel m : List.of(one, two)) {
            ran.clear();
            batchSizes.clear();
            // one thread, waiting up to 2 s for a document batch to fill: both requests are queued before a batch runs
            try (InferenceScheduler s = new InferenceScheduler(1, 0, new LoadedModel.Limits(8, 4096, 1, Long.MAX_VALUE, 1, 0, 2_000_000), 1 << 20)) {
                java.util.concurrent.CompletableFuture<Embeddings> d = s.embed(m, dense);
                java.util.concurrent.CompletableFuture<Embeddings> t = s.embed(m, tokens);
                assertArrayEquals(new float[] {101, 202, 303, 404}, d.get(10, java.util.concurrent.TimeUnit.SECONDS).vectors().get(0));
                assertArrayEquals(new float[] {7592, 15184, 22776, 30368}, t.get(10, java.util.concurrent.TimeUnit.SECONDS).tokens().get(0)[1]);
            }
            if (m == one) {
                assertEquals(List.of(), ran);
                assertEquals(List.of(4), batchSizes);
            } else {
                assertEquals(Set.of("first-token 2", "full 2"), Set.copyOf(ran));
                assertEquals(2, ran.size());
            }
        }
    }

    @Test
    void warmUpRunsTheWholePipelineOnce() {
        LoadedModel m = model(Pooling.CLS, "right", List.of(), Map.of());
        batchSizes.clear();
        m.warmUp();
        // the two warm-up texts run apart: padding the short one to the long one would cost more than a second run
        assertEquals(List.of(1, 1), batchSizes);
        LoadedModel tokens = model(Pooling.ALL, "right", List.of(), Map.of());
        batchSizes.clear();
        tokens.warmUp();
        assertEquals(List.of(1, 1), batchSizes);
    }
}
