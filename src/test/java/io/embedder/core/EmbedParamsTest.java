package io.embedder.core;

import io.embedder.core.lateinteraction.TokenOptions;
import io.embedder.core.runtime.Truncation;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class EmbedParamsTest {

    private static Map<String, Object> body(Object... kv) {
        Map<String, Object> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    private static String error(Map<String, Object> body) {
        EmbedderException e = assertThrows(EmbedderException.class, () -> EmbedParams.parse(body));
        assertEquals(EmbedderException.Kind.BAD_REQUEST, e.kind());
        return e.getMessage();
    }

    @Test
    void defaults() {
        EmbedParams p = EmbedParams.parse(body("texts", List.of("a", "b")));
        assertEquals(new EmbedParams(List.of("a", "b"), Task.EMBED, null, null, null, Truncation.MODEL_DEFAULT), p);
    }

    @Test
    void everyParameter() {
        EmbedParams p = EmbedParams.parse(body("texts", List.of("a"), "task", "embed", "role", "query", "normalize", false,
            "dimensions", 128, "truncate_prompt_tokens", 10));
        assertEquals(new EmbedParams(List.of("a"), Task.EMBED, Role.QUERY, false, 128, new Truncation.KeepLast(10)), p);
        assertEquals(Truncation.NONE, EmbedParams.parse(body("texts", List.of("a"), "truncate_prompt_tokens", "none")).truncation());
        assertEquals(Truncation.MODEL_DEFAULT, EmbedParams.parse(body("texts", List.of("a"), "truncate_prompt_tokens", -1)).truncation());
        assertEquals(Task.TOKEN_EMBED, EmbedParams.parse(body("texts", List.of("a"), "task", "token_embed", "role", "document")).task());
    }

    @Test
    void parametersThatDoNotBelongToTheTask() {
        assertEquals("parameter [dimensions] is not accepted by task [token_embed]; it accepts [texts, task, role, normalize, "
            + "truncate_prompt_tokens, drop_special_tokens, drop_punctuation, pool_factor]",
            error(body("texts", List.of("a"), "task", "token_embed", "dimensions", 64)));
        assertEquals("parameter [pool_factor] is not accepted by task [embed]; it accepts [texts, task, role, normalize, dimensions, "
            + "truncate_prompt_tokens]", error(body("texts", List.of("a"), "pool_factor", 2)));
        assertEquals("unknown parameter [pooling] for task [embed]; it accepts [texts, task, role, normalize, dimensions, "
            + "truncate_prompt_tokens]", error(body("texts", List.of("a"), "pooling", "mean")));
    }

    @Test
    void tokenOptions() {
        EmbedParams p = EmbedParams.parse(body("texts", List.of("a"), "task", "token_embed", "role", "document", "drop_special_tokens", false,
            "drop_punctuation", true, "pool_factor", 3));
        assertEquals(new TokenOptions(false, true, 3), p.tokens());
        assertEquals(TokenOptions.DEFAULT, EmbedParams.parse(body("texts", List.of("a"), "task", "token_embed")).tokens());
        assertEquals("[pool_factor] must be an integer from 1 to 64, got [0]", error(body("texts", List.of("a"), "task", "token_embed", "pool_factor", 0)));
        assertEquals("[pool_factor] must be an integer from 1 to 64, got [2.5]",
            error(body("texts", List.of("a"), "task", "token_embed", "pool_factor", 2.5)));
        assertEquals("[drop_punctuation] must be true or false, got [yes]",
            error(body("texts", List.of("a"), "task", "token_embed", "drop_punctuation", "yes")));
        assertEquals("[drop_special_tokens] must be true or false, got [null]",
            error(body("texts", List.of("a"), "task", "token_embed", "drop_special_tokens", null)));
    }

    @Test
    void badValues() {
        assertEquals("unknown task [rerank]; allowed: [embed, token_embed]", error(body("texts", List.of("a"), "task", "rerank")));
        assertEquals("unknown role [passage]; allowed: [query, document]", error(body("texts", List.of("a"), "role", "passage")));
        assertEquals("[normalize] must be true or false, got [yes]", error(body("texts", List.of("a"), "normalize", "yes")));
        assertEquals("[dimensions] must be a positive integer, got [0]", error(body("texts", List.of("a"), "dimensions", 0)));
        assertEquals("[dimensions] must be a positive integer, got [1.5]", error(body("texts", List.of("a"), "dimensions", 1.5)));
        assertEquals("[truncate_prompt_tokens] must be [none], [model_default] (or -1) or a positive number of tokens to keep "
            + "from the end, got [0]", error(body("texts", List.of("a"), "truncate_prompt_tokens", 0)));
        assertEquals("[task] must be a string, got number [3]", error(body("texts", List.of("a"), "task", 3)));
    }

    @Test
    void badTexts() {
        assertEquals("[texts] is required: a non-empty array of strings", error(body()));
        assertEquals("[texts] must be an array of strings, got [hello]", error(body("texts", "hello")));
        assertEquals("[texts] must hold 1 to 1024 strings, got 0", error(body("texts", List.of())));
        assertEquals("[texts][1] must be a string, got number [42]", error(body("texts", List.of("a", 42))));
        assertEquals("[texts][0] must be a string, got null", error(body("texts", Arrays.asList((Object) null))));
        assertEquals("[texts][0] must be a string, got object [{a=b}]", error(body("texts", List.of(Map.of("a", "b")))));
    }
}
