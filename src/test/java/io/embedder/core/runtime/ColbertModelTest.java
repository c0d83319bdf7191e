package io.embedder.core.runtime;

import io.embedder.core.EmbedParams;
import io.embedder.core.EmbedderException;
import io.embedder.core.Embeddings;
import io.embedder.core.Role;
import io.embedder.core.Task;
import io.embedder.core.TestData;
import io.embedder.core.lateinteraction.ColbertConfig;
import io.embedder.core.lateinteraction.ColbertDirs;
import io.embedder.core.lateinteraction.TokenOptions;
import io.embedder.core.model.ModelSpec;
import io.embedder.core.model.ModelSpecReader;
import io.embedder.core.pooling.Pooling;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A ColBERT-style model in PyLate's layout on bge-small's real tokenizer, with a fake encoder whose token state is
 * {@code (id, id mod 7, 1, −1)} and a Dense module {@code W = [[1, 0, 0, 0], [0, 1, 1, 0]]}, so each output vector is
 * {@code (id, id mod 7 + 1)} normalized: the markers, the [MASK] augmentation and the skiplist show in the ids.
 * Word pieces: [PAD]=0, [unused0]=1, [unused1]=2, [CLS]=101, [SEP]=102, [MASK]=103, hello=7592, world=2088, !=999.
 */
class ColbertModelTest {

    private static final int DIM = 4;
    private static final float[][] W = {{1, 0, 0, 0}, {0, 1, 1, 0}};
    private static final String PYLATE = "{\"prompts\": {}, \"default_prompt_name\": null, \"similarity_fn_name\": \"MaxSim\", "
        + "\"query_prefix\": \"[unused0]\", \"document_prefix\": \"[unused1]\", \"query_length\": 10, \"document_length\": 6, "
        + "\"attend_to_expansion_tokens\": false, \"skiplist_words\": [\"!\", \".\", \",\"], \"do_query_expansion\": true}";
    private static TextTokenizer tokenizer;
    private static long[] lastIds;
    private static long[] lastMask;

    @TempDir
    Path dir;

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
            long[] ids = new long[batch * seq];
            long[] mask = new long[batch * seq];
            buffers.ids().get(0, ids);
            buffers.mask().get(0, mask);
            lastIds = ids;
            lastMask = mask;
            for (int i = 0; i < batch * seq; i++) {
                boolean padding = ids[i] == 0 && mask[i] == 0;
                float[] state = {ids[i], ids[i] % 7, 1, -1};
                for (int d = 0; d < dim; d++) {
                    buffers.output().put(i * dim + d, padding ? 1e6f : state[d]);
                }
            }
            return new HiddenStates(buffers.output(), buffers.mask(), batch, seq, dim, false);
        }

        @Override
        public void close() {}
    };

    private LoadedModel model(String stConfig) {
        ModelSpec spec = ModelSpecReader.read("colbert", ColbertDirs.write(dir.resolve("colbert"), stConfig, W, false));
        return new LoadedModel(spec, tokenizer, FAKE, DIM, new LoadedModel.Limits(8, 4096, 1, Long.MAX_VALUE, 2));
    }

    private static Embeddings embed(LoadedModel m, Role role, TokenOptions options, String... texts) {
        return m.embed(new EmbedParams(List.of(texts), Task.TOKEN_EMBED, role, null, null, Truncation.MODEL_DEFAULT, options));
    }

    /** (a, b) / √(a² + b²). */
    private static float[] unit(double a, double b) {
        double n = Math.sqrt(a * a + b * b);
        return new float[] {(float) (a / n), (float) (b / n)};
    }

    private static void assertVectors(float[][] expected, float[][] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertArrayEquals(expected[i], actual[i], 1e-7f, "vector " + i);
        }
    }

    @Test
    void readsThePyLateLayout() {
        ModelSpec spec = ModelSpecReader.read("colbert", ColbertDirs.write(dir.resolve("colbert"), PYLATE, W, false));
        assertEquals(Pooling.ALL, spec.pooling().value());
        assertEquals("config_sentence_transformers.json (ColBERT: one vector per token)", spec.pooling().source());
        assertEquals(true, spec.normalize().value());
        assertEquals("ColBERT (PyLate normalizes each token vector)", spec.normalize().source());
        ColbertConfig c = spec.tokenEmbed().colbert();
        assertEquals(new ColbertConfig.Marker("[unused0]", 1), c.queryMarker());
        assertEquals(new ColbertConfig.Marker("[unused1]", 2), c.documentMarker());
        assertEquals(103, c.maskTokenId());
        assertEquals(java.util.Set.of(999L, 1012L, 1010L), c.skiplistIds());
        assertEquals("{query_prefix=[unused0], document_prefix=[unused1], query_length=10, document_length=6, do_query_expansion=true, "
            + "attend_to_expansion_tokens=false, skiplist_words=[!, ., ,], projections=[{in_features=4, out_features=2, bias=false, "
            + "activation_function=torch.nn.modules.linear.Identity}], sources={query_prefix=config_sentence_transformers.json query_prefix, "
            + "document_prefix=config_sentence_transformers.json document_prefix, query_length=config_sentence_transformers.json query_length, "
            + "document_length=config_sentence_transformers.json document_length, do_query_expansion=config_sentence_transformers.json "
            + "do_query_expansion, attend_to_expansion_tokens=config_sentence_transformers.json attend_to_expansion_tokens, "
            + "skiplist_words=config_sentence_transformers.json skiplist_words, projections=modules.json 1_Dense/config.json + "
            + "1_Dense/model.safetensors}}", c.describe().toString());
    }

    /** PyLate's defaults fill missing keys: [Q] / [D] markers (not in bge's vocabulary: refused), 32 / 180, punctuation. */
    @Test
    void defaultsAndRefusals() {
        EmbedderException noMarker = assertThrows(EmbedderException.class,
            () -> ModelSpecReader.read("c", ColbertDirs.write(dir.resolve("c"), "{\"query_length\": 16}", W, false)));
        assertEquals("model [c]: config_sentence_transformers.json query_prefix [[Q] ] is not a token of tokenizer.json (neither in its "
            + "vocabulary nor an added token)", noMarker.getMessage());
        ColbertConfig c = ModelSpecReader.read("d", ColbertDirs.write(dir.resolve("d"), "{\"query_prefix\": \"\", \"document_prefix\": \"[unused1]\"}",
            null, false)).tokenEmbed().colbert();
        assertNull(c.queryMarker());
        assertEquals(32, c.queryLength());
        assertEquals(180, c.documentLength());
        assertEquals(ColbertConfig.PUNCTUATION.length(), c.skiplistIds().size());
        assertEquals(List.of(), c.projections());
        assertEquals("default (PyLate)", c.sources().get("query_length"));
        assertEquals("default (PyLate: string.punctuation)", c.sources().get("skiplist_words"));

        EmbedderException badLength = assertThrows(EmbedderException.class,
            () -> ModelSpecReader.read("e", ColbertDirs.write(dir.resolve("e"), PYLATE.replace("\"query_length\": 10", "\"query_length\": 1"), W, false)));
        assertEquals("model [e]: config_sentence_transformers.json query_length [1] must be an integer from 2 to 65536", badLength.getMessage());
        EmbedderException denseWithoutColbert = assertThrows(EmbedderException.class,
            () -> ModelSpecReader.read("f", ColbertDirs.write(dir.resolve("f"), "{\"prompts\": {}}", W, false)));
        assertEquals("model [f]: modules.json has a Dense module [1_Dense] but config_sentence_transformers.json declares no ColBERT model "
            + "(none of [query_prefix, document_prefix, query_length, document_length, do_query_expansion, attend_to_expansion_tokens, "
            + "skiplist_words]): a Dense layer after pooling must be part of the ONNX graph, with pooling [none] in embedder-model.json",
            denseWithoutColbert.getMessage());
        IllegalArgumentException chain = assertThrows(IllegalArgumentException.class,
            () -> ModelSpecReader.read("g", ColbertDirs.write(dir.resolve("g"), PYLATE, W, false)).tokenEmbed().colbert().checkChain(384));
        assertEquals("Dense module 1 has in_features 4 but receives 384 (the ONNX output's size; if the graph already applies the "
            + "projection, remove the Dense module from modules.json)", chain.getMessage());
    }

    /** [CLS] [unused0] hello world ! [SEP], padded with [MASK] to 10 tokens that the others do not attend to; all kept. */
    @Test
    void queryMarkerAndMaskAugmentation() {
        Embeddings e = embed(model(PYLATE), Role.QUERY, TokenOptions.DEFAULT, "hello world!");
        assertArrayEquals(new long[] {101, 1, 7592, 2088, 999, 102, 103, 103, 103, 103}, lastIds);
        assertArrayEquals(new long[] {1, 1, 1, 1, 1, 1, 0, 0, 0, 0}, lastMask);
        assertEquals(2, e.dimensions());
        // (id, id mod 7 + 1): 101 → (101, 4), 1 → (1, 2), 7592 → (7592, 5), 2088 → (2088, 3), 999 → (999, 6), 102 → (102, 5), 103 → (103, 6)
        float[] mask = unit(103, 6);
        assertVectors(new float[][] {unit(101, 4), unit(1, 2), unit(7592, 5), unit(2088, 3), unit(999, 6), unit(102, 5), mask, mask, mask, mask},
            e.tokens().get(0));

        embed(model(PYLATE.replace("\"attend_to_expansion_tokens\": false", "\"attend_to_expansion_tokens\": true")), Role.QUERY,
            TokenOptions.DEFAULT, "hello world!");
        assertArrayEquals(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, lastMask);
        Embeddings plain = embed(model(PYLATE.replace("\"do_query_expansion\": true", "\"do_query_expansion\": false")), Role.QUERY,
            TokenOptions.DEFAULT, "hello world!");
        assertArrayEquals(new long[] {101, 1, 7592, 2088, 999, 102}, lastIds);
        assertEquals(6, plain.tokens().get(0).length);
    }

    /** Two queries of different lengths in one batch: both exactly query_length, no padding between them. */
    @Test
    void queriesInOneBatchAreAllQueryLength() {
        Embeddings e = embed(model(PYLATE), Role.QUERY, TokenOptions.DEFAULT, "hello", "hello world! hello world! hello world!");
        assertEquals(10, e.tokens().get(0).length);
        assertEquals(10, e.tokens().get(1).length); // truncated to 9 tokens before the marker: [CLS] [unused0] + 7 + [SEP]
        assertArrayEquals(new long[] {101, 1, 7592, 102, 103, 103, 103, 103, 103, 103}, Arrays.copyOfRange(lastIds, 0, 10));
        assertArrayEquals(new long[] {101, 1, 7592, 2088, 999, 7592, 2088, 999, 7592, 102}, Arrays.copyOfRange(lastIds, 10, 20));
    }

    /** [CLS] [unused1] hello world ! [SEP]: the skiplist drops "!"; [CLS], the marker and [SEP] stay (PyLate). */
    @Test
    void documentMarkerAndSkiplist() {
        LoadedModel m = model(PYLATE);
        Embeddings e = embed(m, Role.DOCUMENT, TokenOptions.DEFAULT, "hello world!");
        assertArrayEquals(new long[] {101, 2, 7592, 2088, 999, 102}, lastIds);
        assertArrayEquals(new long[] {1, 1, 1, 1, 1, 1}, lastMask);
        assertVectors(new float[][] {unit(101, 4), unit(2, 3), unit(7592, 5), unit(2088, 3), unit(102, 5)}, e.tokens().get(0));
        // document_length 6: at most 5 tokens before the marker
        embed(m, Role.DOCUMENT, TokenOptions.DEFAULT, "hello world hello world");
        assertArrayEquals(new long[] {101, 2, 7592, 2088, 7592, 102}, lastIds);
        // the request may drop special tokens too, or keep punctuation
        assertVectors(new float[][] {unit(7592, 5), unit(2088, 3)},
            embed(m, Role.DOCUMENT, new TokenOptions(true, null, 1), "hello world!").tokens().get(0));
        assertEquals(6, embed(m, Role.DOCUMENT, new TokenOptions(null, false, 1), "hello world!").tokens().get(0).length);
    }

    /** hello hello hello world world world: identical states pool together; the leading [CLS] is kept out of pooling. */
    @Test
    void documentPooling() {
        LoadedModel m = model(PYLATE.replace("\"document_length\": 6", "\"document_length\": 12"));
        float[][] v = embed(m, Role.DOCUMENT, new TokenOptions(null, null, 2), "hello hello hello world world world").tokens().get(0);
        // [CLS] | [unused1] hello hello hello world world world [SEP]: 8 to pool, 4 clusters
        assertEquals(5, v.length);
        assertArrayEquals(unit(101, 4), v[0], 1e-7f);
        assertVectors(new float[][] {unit(101, 4), unit(2, 3), unit(7592, 5), unit(2088, 3), unit(102, 5)}, v);
    }

    /**
     * Through the scheduler (the embedder's path), the same pipeline as on the calling thread: a query's [MASK] tokens
     * reach the graph unattended, and every output vector is the same.
     */
    @Test
    void theSchedulerKeepsTheMaskAndTheVectors() throws Exception {
        LoadedModel m = model(PYLATE);
        try (InferenceScheduler s = new InferenceScheduler(1, 0, new LoadedModel.Limits(8, 4096, 1, Long.MAX_VALUE, 1, 0, 0), 1 << 20)) {
            for (Role role : List.of(Role.QUERY, Role.DOCUMENT)) {
                EmbedParams params = new EmbedParams(List.of("hello world!", "hello"), Task.TOKEN_EMBED, role, null, null,
                    Truncation.MODEL_DEFAULT, TokenOptions.DEFAULT);
                Embeddings direct = m.embed(params);
                Embeddings scheduled = s.embed(m, params).get(10, TimeUnit.SECONDS);
                if (role == Role.QUERY) {
                    // [CLS] [unused0] hello world ! [SEP] + 4 [MASK]; [CLS] [unused0] hello [SEP] + 6 [MASK]
                    assertArrayEquals(new long[] {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0}, lastMask);
                }
                assertEquals(direct.dimensions(), scheduled.dimensions());
                assertArrayEquals(direct.tokens().toArray(), scheduled.tokens().toArray());
            }
        }
    }

    @Test
    void requestErrors() {
        LoadedModel m = model(PYLATE);
        assertEquals("model [colbert] is ColBERT-style: task [token_embed] needs [role] [query] or [document] (queries and documents get "
            + "different markers and lengths)", assertThrows(EmbedderException.class, () -> embed(m, null, TokenOptions.DEFAULT, "x")).getMessage());
        assertEquals("[pool_factor] [2] pools documents only: use [role] [document] or omit [pool_factor]",
            assertThrows(EmbedderException.class, () -> embed(m, Role.QUERY, new TokenOptions(null, null, 2), "x")).getMessage());
        assertEquals("model [colbert] has pooling [all] (token-level output): use task [token_embed]", assertThrows(EmbedderException.class,
            () -> m.embed(new EmbedParams(List.of("x"), Task.EMBED, Role.QUERY, null, null, Truncation.MODEL_DEFAULT))).getMessage());
    }
}
