package io.embedder.core.model;

import io.embedder.core.EmbedderException;
import io.embedder.core.pooling.Pooling;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Reading a sentence-transformers directory: every source of every setting, and every refusal to guess. */
class ModelSpecReaderTest {

    @TempDir
    Path dir;

    private static final String MODULES_OLD = """
        [{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
         {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
         {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]""";

    private void write(String relative, String content) throws IOException {
        Path p = dir.resolve(relative);
        Files.createDirectories(p.getParent());
        Files.writeString(p, content);
    }

    private void minimalFiles() throws IOException {
        write("onnx/model.onnx", "not read by the spec reader");
        write("tokenizer.json", "{\"truncation\": {\"max_length\": 128}}");
    }

    private EmbedderException invalid() {
        return assertThrows(EmbedderException.class, () -> ModelSpecReader.read("m", dir));
    }

    @Test
    void verboseBooleansWithOldModulePaths() throws IOException {
        minimalFiles();
        write("modules.json", MODULES_OLD);
        write("1_Pooling/config.json", """
            {"word_embedding_dimension": 384, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true,
             "pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false}""");
        write("sentence_bert_config.json", "{\"max_seq_length\": 256, \"do_lower_case\": false}");
        ModelSpec spec = ModelSpecReader.read("m", dir);
        assertEquals(Sourced.of(Pooling.MEAN, "modules.json + 1_Pooling/config.json pooling_mode_mean_tokens"), spec.pooling());
        assertEquals(Sourced.of(true, "modules.json Normalize module"), spec.normalize());
        assertEquals(Sourced.of(256, "sentence_bert_config.json max_seq_length"), spec.maxTokens());
        assertEquals(128, spec.tokenizerMaxLength());
        assertEquals(Sourced.of(384, "1_Pooling/config.json word_embedding_dimension"), spec.dimensions());
        assertEquals(dir.resolve("onnx/model.onnx"), spec.onnxFile());
        assertEquals("last_hidden_state", spec.outputName());
        assertEquals(Sourced.of("right", "default"), spec.paddingSide());
    }

    @Test
    void compactPoolingModeWithNewModulePaths() throws IOException {
        minimalFiles();
        write("modules.json", """
            [{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.transformer.Transformer"},
             {"idx":1,"name":"1","path":"pool","type":"sentence_transformers.models.pooling.Pooling"}]""");
        write("pool/config.json", "{\"word_embedding_dimension\": 768, \"pooling_mode\": \"lasttoken\"}");
        ModelSpec spec = ModelSpecReader.read("m", dir);
        assertEquals(Sourced.of(Pooling.LAST_TOKEN, "modules.json + pool/config.json pooling_mode"), spec.pooling());
        assertEquals(Sourced.of(false, "modules.json (no Normalize module)"), spec.normalize());
        assertEquals(Sourced.of(128, "tokenizer.json truncation.max_length"), spec.maxTokens());
    }

    @ParameterizedTest
    @CsvSource({"cls, CLS", "mean, MEAN", "max, MAX", "mean_sqrt_len_tokens, MEAN_SQRT_LEN", "weightedmean, WEIGHTED_MEAN", "lasttoken, LAST_TOKEN"})
    void everyCompactPoolingMode(String mode, Pooling expected) throws IOException {
        minimalFiles();
        write("modules.json", MODULES_OLD);
        write("1_Pooling/config.json", "{\"pooling_mode\": \"" + mode + "\"}");
        assertEquals(expected, ModelSpecReader.read("m", dir).pooling().value());
    }

    @Test
    void promptsAndDefaultPromptFromSentenceTransformersConfig() throws IOException {
        minimalFiles();
        write("modules.json", MODULES_OLD);
        write("1_Pooling/config.json", "{\"pooling_mode\": \"mean\"}");
        write("config_sentence_transformers.json", """
            {"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": "query", "similarity_fn_name": "cosine"}""");
        ModelSpec spec = ModelSpecReader.read("m", dir);
        assertEquals(Map.of("query", "query: ", "passage", "passage: "), spec.prompts().value());
        assertEquals("config_sentence_transformers.json prompts", spec.prompts().source());
        assertEquals("query", spec.defaultPromptName());
    }

    @Test
    void descriptorOverridesTheFiles() throws IOException {
        minimalFiles();
        write("modules.json", MODULES_OLD);
        write("1_Pooling/config.json", "{\"pooling_mode\": \"mean\"}");
        write("sentence_bert_config.json", "{\"max_seq_length\": 256}");
        write("embedder-model.json", """
            {"pooling": "cls", "normalize": false, "max_tokens": 64, "dimensions": 384, "matryoshka_dimensions": [256, 128],
             "prompts": {"query": "q: "}, "padding_side": "left"}""");
        ModelSpec spec = ModelSpecReader.read("m", dir);
        assertEquals(Sourced.of(Pooling.CLS, "embedder-model.json"), spec.pooling());
        assertEquals(Sourced.of(false, "embedder-model.json"), spec.normalize());
        assertEquals(Sourced.of(64, "embedder-model.json"), spec.maxTokens());
        assertEquals(Sourced.of(List.of(256, 128), "embedder-model.json"), spec.matryoshkaDimensions());
        assertEquals(Sourced.of("left", "embedder-model.json"), spec.paddingSide());
        assertNull(spec.defaultPromptName());
    }

    @Test
    void descriptorAloneSettlesAJarWithoutConfigFiles() throws IOException {
        write("model.onnx", "x");
        write("tokenizer.json", "{}");
        write("embedder-model.json", "{\"pooling\": \"mean\", \"normalize\": true, \"max_tokens\": 256}");
        ModelSpec spec = ModelSpecReader.read("m", dir);
        assertEquals(dir.resolve("model.onnx"), spec.onnxFile());
        assertNull(spec.tokenizerMaxLength());
        assertNull(spec.dimensions());
    }

    @Test
    void poolingOnlyAtItsConventionalPlaceWithoutModulesJson() throws IOException {
        minimalFiles();
        write("1_Pooling/config.json", "{\"pooling_mode_cls_token\": true}");
        write("embedder-model.json", "{\"normalize\": true}");
        assertEquals(Sourced.of(Pooling.CLS, "1_Pooling/config.json pooling_mode_cls_token"), ModelSpecReader.read("m", dir).pooling());
    }

    @Test
    void refusesToGuessThePooling() throws IOException {
        minimalFiles();
        assertEquals("model [m]: the pooling is not settled: no modules.json, no 1_Pooling/config.json and no [pooling] in embedder-model.json",
            invalid().getMessage());
        assertEquals(EmbedderException.Kind.INVALID_MODEL, invalid().kind());
    }

    @Test
    void modulesWithoutPooling() throws IOException {
        minimalFiles();
        write("modules.json", "[{\"path\":\"\",\"type\":\"sentence_transformers.models.Transformer\"}]");
        assertEquals("model [m]: modules.json has no Pooling module and embedder-model.json has no [pooling]: the pooling is not settled",
            invalid().getMessage());
    }

    @Test
    void poolingModuleWithoutItsConfig() throws IOException {
        minimalFiles();
        write("modules.json", MODULES_OLD);
        assertEquals("model [m]: modules.json names a Pooling module but 1_Pooling/config.json is missing", invalid().getMessage());
    }

    @Test
    void refusesToGuessNormalization() throws IOException {
        minimalFiles();
        write("embedder-model.json", "{\"pooling\": \"mean\"}");
        assertEquals("model [m]: normalization is not settled: no modules.json and no [normalize] in embedder-model.json", invalid().getMessage());
    }

    @Test
    void refusesToGuessTheTokenLimit() throws IOException {
        write("model.onnx", "x");
        write("tokenizer.json", "{\"truncation\": null}");
        write("embedder-model.json", "{\"pooling\": \"mean\", \"normalize\": true}");
        assertEquals("model [m]: the token limit is not settled: no max_seq_length in sentence_bert_config.json, no truncation in "
            + "tokenizer.json and no [max_tokens] in embedder-model.json", invalid().getMessage());
    }

    @Test
    void rejectsConcatenatedAndMissingPoolingFlags() throws IOException {
        minimalFiles();
        write("modules.json", MODULES_OLD);
        write("1_Pooling/config.json", "{\"pooling_mode_cls_token\": true, \"pooling_mode_mean_tokens\": true}");
        assertEquals("model [m]: 1_Pooling/config.json sets several poolings [pooling_mode_cls_token, pooling_mode_mean_tokens] "
            + "(concatenated pooling), which is not supported", invalid().getMessage());
        write("1_Pooling/config.json", "{\"pooling_mode_cls_token\": false}");
        assertEquals("model [m]: 1_Pooling/config.json sets no pooling: expected [pooling_mode] or one of [pooling_mode_cls_token, "
            + "pooling_mode_lasttoken, pooling_mode_max_tokens, pooling_mode_mean_sqrt_len_tokens, pooling_mode_mean_tokens, "
            + "pooling_mode_weightedmean_tokens] set to true", invalid().getMessage());
        write("1_Pooling/config.json", "{\"pooling_mode\": \"avg\"}");
        assertEquals("model [m]: 1_Pooling/config.json pooling_mode [avg] is not supported; allowed: [cls, last_token, lasttoken, max, "
            + "mean, mean_sqrt_len, mean_sqrt_len_tokens, weighted_mean, weightedmean]", invalid().getMessage());
    }

    @Test
    void rejectsUnsupportedModulesAndPromptExclusion() throws IOException {
        minimalFiles();
        write("modules.json", "[{\"path\":\"2_LayerNorm\",\"type\":\"sentence_transformers.models.LayerNorm\"}]");
        assertEquals("model [m]: modules.json module [sentence_transformers.models.LayerNorm] is not supported; supported modules: "
            + "[Transformer, Pooling, Normalize, Dense (ColBERT projection)] (another layer must be part of the ONNX graph, with pooling "
            + "[none] in embedder-model.json)", invalid().getMessage());
        // a Dense module is a ColBERT model's projection; on a model that is not ColBERT-style it is refused
        write("modules.json", "[{\"path\":\"2_Dense\",\"type\":\"sentence_transformers.models.Dense\"}]");
        assertEquals("model [m]: modules.json has a Dense module [2_Dense] but config_sentence_transformers.json declares no ColBERT model "
            + "(none of [query_prefix, document_prefix, query_length, document_length, do_query_expansion, attend_to_expansion_tokens, "
            + "skiplist_words]): a Dense layer after pooling must be part of the ONNX graph, with pooling [none] in embedder-model.json",
            invalid().getMessage());
        write("modules.json", "[{\"path\":\"../x\",\"type\":\"sentence_transformers.models.Dense\"}]");
        assertEquals("model [m]: modules.json Dense module needs a [path] inside the model directory, found [../x]", invalid().getMessage());
        write("modules.json", MODULES_OLD);
        write("1_Pooling/config.json", "{\"pooling_mode\": \"mean\", \"include_prompt\": false}");
        assertEquals("model [m]: 1_Pooling/config.json sets include_prompt=false (prompt tokens excluded from pooling), which is not supported",
            invalid().getMessage());
    }

    @Test
    void descriptorValidation() throws IOException {
        minimalFiles();
        write("embedder-model.json", "{\"pooling\": \"avg\", \"normalize\": true}");
        assertEquals("model [m]: embedder-model.json unknown pooling [avg]; allowed: [cls, mean, max, min, mean_sqrt_len, "
            + "weighted_mean, last_token, none, all]", invalid().getMessage());
        write("embedder-model.json", "{\"pooling\": \"mean\", \"normalise\": true}");
        assertEquals("model [m]: embedder-model.json has unknown keys [normalise]; allowed: [default_prompt_name, description, "
            + "dimensions, matryoshka_dimensions, max_tokens, normalize, onnx_file, output_name, padding_side, pooling, prompts, "
            + "tokenizer_file]", invalid().getMessage());
        write("embedder-model.json", "{\"pooling\": \"mean\", \"normalize\": \"yes\"}");
        assertEquals("model [m]: embedder-model.json normalize [\"yes\"] must be true or false", invalid().getMessage());
        write("embedder-model.json", "{\"pooling\": \"mean\", \"normalize\": true, \"max_tokens\": 0}");
        assertEquals("model [m]: embedder-model.json max_tokens [0] must be a positive integer", invalid().getMessage());
        write("embedder-model.json", "{\"pooling\": \"mean\", \"normalize\": true, \"dimensions\": 384, \"matryoshka_dimensions\": [512]}");
        assertEquals("model [m]: embedder-model.json matryoshka_dimensions [512] exceeds the model's dimensions [384]", invalid().getMessage());
        write("embedder-model.json", "{\"pooling\": \"mean\", \"normalize\": true, \"tokenizer_file\": \"../../etc/passwd\"}");
        assertEquals("model [m]: embedder-model.json tokenizer_file [../../etc/passwd] points outside the model directory", invalid().getMessage());
        write("embedder-model.json", "{\"pooling\": \"mean\", \"normalize\": true, \"default_prompt_name\": \"query\"}");
        assertEquals("model [m]: default_prompt_name [query] is not one of the prompts []", invalid().getMessage());
    }

    @Test
    void missingAndCorruptFiles() throws IOException {
        write("tokenizer.json", "{}");
        write("embedder-model.json", "{\"pooling\": \"mean\", \"normalize\": true, \"max_tokens\": 8}");
        assertEquals("model [m]: no ONNX file: expected onnx/model.onnx, model.onnx or [onnx_file] in embedder-model.json", invalid().getMessage());
        write("a.onnx", "x");
        write("b.onnx", "x");
        assertEquals("model [m]: several ONNX files [a.onnx, b.onnx]: name one with [onnx_file] in embedder-model.json", invalid().getMessage());
        write("model.onnx", "x");
        Files.delete(dir.resolve("tokenizer.json"));
        assertEquals("model [m]: tokenizer.json is missing", invalid().getMessage());
        write("tokenizer.json", "{\"truncation\": ");
        assertEquals(EmbedderException.Kind.INVALID_MODEL, invalid().kind());
        assertEquals(true, invalid().getMessage().startsWith("model [m]: tokenizer.json is not valid JSON: "));
    }
}
