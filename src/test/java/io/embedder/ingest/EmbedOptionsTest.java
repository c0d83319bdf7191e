package io.embedder.ingest;

import io.embedder.core.Embedder;
import io.embedder.core.Role;
import io.embedder.core.Task;
import io.embedder.core.lateinteraction.TokenOptions;
import io.embedder.core.TestData;
import io.embedder.core.runtime.Truncation;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.opensearch.OpenSearchException;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Every configuration error is caught when the pipeline is created, naming the processor, its tag and the property. */
class EmbedOptionsTest {

    private static Embedder embedder;

    @BeforeAll
    static void open() {
        embedder = TestData.embedder();
    }

    @AfterAll
    static void close() {
        embedder.close();
    }

    private static EmbedOptions read(String json) {
        Map<String, Object> config = new HashMap<>(FieldTextsTest.source(json));
        EmbedOptions options = EmbedOptions.read("my-tag", config, embedder, "bge-small-en-v1.5");
        assertEquals(Map.of(), config, "every option is consumed");
        return options;
    }

    /** The error's reason, after checking it names the processor, the tag and {@code property}. */
    private static String error(String json, String property) {
        OpenSearchException e = assertThrows(OpenSearchException.class, () -> read(json));
        assertEquals(List.of("embed"), e.getMetadata("opensearch.processor_type"));
        assertEquals(List.of("my-tag"), e.getMetadata("opensearch.processor_tag"));
        assertEquals(List.of(property), e.getMetadata("opensearch.property_name"));
        return e.getMessage();
    }

    @Test
    void readsEveryOption() {
        TestData.assumeModel("bge-small-en-v1.5");
        EmbedOptions o = read("""
            {"model": "bge-small-en-v1.5", "field_map": {"body": "vec", "chunks": {"text": "vec"}}, "normalize": false,
             "truncate_prompt_tokens": 100, "ignore_missing": true, "skip_existing": true}""");
        assertEquals(new EmbedOptions("bge-small-en-v1.5", List.of(new FieldMapping("body", "vec"), new FieldMapping("chunks.text", "chunks.vec")),
            Task.EMBED, null, false, new Truncation.KeepLast(100), TokenOptions.DEFAULT, true, true), o);
        assertEquals(Role.DOCUMENT, o.params(List.of("x")).role());
        EmbedOptions defaults = read("{\"field_map\": {\"body\": \"vec\"}, \"task\": \"token_embed\", \"truncate_prompt_tokens\": \"none\"}");
        assertEquals(new EmbedOptions("bge-small-en-v1.5", List.of(new FieldMapping("body", "vec")), Task.TOKEN_EMBED, null, null,
            Truncation.NONE, TokenOptions.DEFAULT, false, false), defaults);
        assertEquals(384, read("{\"field_map\": {\"body\": \"vec\"}, \"dimensions\": 384}").dimensions(), "the full size is allowed");
    }

    @Test
    void fieldMapErrors() {
        assertEquals("[field_map] required property is missing", error("{}", "field_map"));
        assertEquals("[field_map] must map at least one text field to a vector field", error("{\"field_map\": {}}", "field_map"));
        assertEquals("[field_map] [body] must map to a vector field path or to an object of field mappings, got [7]",
            error("{\"field_map\": {\"body\": 7}}", "field_map"));
        assertEquals("[field_map] [chunks] must map to a vector field path or to an object of field mappings, got [{}]",
            error("{\"field_map\": {\"chunks\": {}}}", "field_map"));
        assertEquals("[field_map] [a..b] is not a field path: dotted names, no empty parts", error("{\"field_map\": {\"a..b\": \"v\"}}", "field_map"));
        assertEquals("[field_map] [body] must map to a vector field path or to an object of field mappings, got [v.]",
            error("{\"field_map\": {\"body\": \"v.\"}}", "field_map"));
        assertEquals("[field_map] [body] and its vector field [body] overlap: a vector field must not be its text field, inside it, or hold it",
            error("{\"field_map\": {\"body\": \"body\"}}", "field_map"));
        assertEquals("[field_map] [body] and its vector field [body.vec] overlap: a vector field must not be its text field, inside it, or hold it",
            error("{\"field_map\": {\"body\": \"body.vec\"}}", "field_map"));
        assertEquals("[field_map] [a] and [b] both map to vector field [v]", error("{\"field_map\": {\"a\": \"v\", \"b\": \"v\"}}", "field_map"));
    }

    @Test
    void parameterErrorsUseTheEmbedApisWording() {
        String map = "\"field_map\": {\"body\": \"vec\"}, ";
        assertEquals("[task] unknown task [rerank]; allowed: [embed, token_embed]", error("{" + map + "\"task\": \"rerank\"}", "task"));
        assertEquals("[normalize] must be true or false, got [yes]", error("{" + map + "\"normalize\": \"yes\"}", "normalize"));
        assertEquals("[dimensions] must be a positive integer, got [0]", error("{" + map + "\"dimensions\": 0}", "dimensions"));
        assertEquals("[truncate_prompt_tokens] must be [none], [model_default] (or -1) or a positive number of tokens to keep from the end, got [all]",
            error("{" + map + "\"truncate_prompt_tokens\": \"all\"}", "truncate_prompt_tokens"));
        assertEquals("[dimensions] is accepted by task [embed] only", error("{" + map + "\"task\": \"token_embed\", \"dimensions\": 384}", "dimensions"));
        assertEquals("[role] is always [document] when indexing (the model's document prompt); remove it",
            error("{" + map + "\"role\": \"query\"}", "role"));
    }

    @Test
    void tokenOptionsGoToTheRequestOfTaskTokenEmbed() {
        TestData.assumeModel("bge-small-en-v1.5");
        EmbedOptions o = read("""
            {"field_map": {"body": "tokens"}, "task": "token_embed", "drop_special_tokens": false, "drop_punctuation": true,
             "pool_factor": 2}""");
        assertEquals(new TokenOptions(false, true, 2), o.tokens());
        assertEquals(new TokenOptions(false, true, 2), o.params(List.of("x")).tokens());
        assertEquals(TokenOptions.DEFAULT, read("{\"field_map\": {\"body\": \"tokens\"}, \"task\": \"token_embed\"}").tokens());
    }

    @Test
    void tokenOptionErrors() {
        String map = "\"field_map\": {\"body\": \"vec\"}, ";
        assertEquals("[pool_factor] is accepted by task [token_embed] only", error("{" + map + "\"pool_factor\": 2}", "pool_factor"));
        assertEquals("[drop_punctuation] is accepted by task [token_embed] only",
            error("{" + map + "\"drop_punctuation\": true}", "drop_punctuation"));
        assertEquals("[drop_special_tokens] is accepted by task [token_embed] only",
            error("{" + map + "\"drop_special_tokens\": false}", "drop_special_tokens"));
        String tokens = map + "\"task\": \"token_embed\", ";
        assertEquals("[pool_factor] must be an integer from 1 to 64, got [0]", error("{" + tokens + "\"pool_factor\": 0}", "pool_factor"));
        assertEquals("[pool_factor] must be an integer from 1 to 64, got [1.5]", error("{" + tokens + "\"pool_factor\": 1.5}", "pool_factor"));
        assertEquals("[drop_punctuation] must be true or false, got [yes]",
            error("{" + tokens + "\"drop_punctuation\": \"yes\"}", "drop_punctuation"));
    }

    @Test
    void modelErrors() {
        TestData.assumeModel("bge-small-en-v1.5");
        String map = "\"field_map\": {\"body\": \"vec\"}, ";
        assertEquals("[model] invalid model name [../x]: letters, digits, '.', '_' and '-' only, not starting with '.' or '-' (a model is a "
            + "directory directly under the models directory)", error("{" + map + "\"model\": \"../x\"}", "model"));
        assertEquals("[dimensions] [128] is not available: model [bge-small-en-v1.5] is not declared Matryoshka",
            error("{" + map + "\"dimensions\": 128}", "dimensions"));
        assertEquals("[truncate_prompt_tokens] [512] must be less than model [bge-small-en-v1.5]'s max_tokens [512]",
            error("{" + map + "\"truncate_prompt_tokens\": 512}", "truncate_prompt_tokens"));
    }
}
