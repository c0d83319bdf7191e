package io.embedder.core.lateinteraction;

import io.embedder.core.EmbedderException;

import java.util.Map;

/**
 * What task {@code token_embed} keeps of a text's tokens; null means the model's default (see {@link TokenEmbedding}).
 *
 * @param dropSpecialTokens drop the tokenizer's special tokens ([CLS], [SEP], ...) and marker tokens
 * @param dropPunctuation   drop tokens that are one punctuation character (a ColBERT model's {@code skiplist_words})
 * @param poolFactor        documents only: merge near-duplicate token vectors, keeping about 1 in {@code poolFactor}
 */
public record TokenOptions(Boolean dropSpecialTokens, Boolean dropPunctuation, int poolFactor) {

    /** Request keys, as the {@code _embed} API and the ingest processor name them. */
    public static final String DROP_SPECIAL_TOKENS = "drop_special_tokens";
    public static final String DROP_PUNCTUATION = "drop_punctuation";
    public static final String POOL_FACTOR = "pool_factor";

    /** Largest pool factor accepted (a factor of 64 leaves one vector per 64 tokens). */
    public static final int MAX_POOL_FACTOR = 64;

    /** The model's defaults, no pooling. */
    public static final TokenOptions DEFAULT = new TokenOptions(null, null, 1);

    public TokenOptions {
        if (poolFactor < 1 || poolFactor > MAX_POOL_FACTOR) {
            throw EmbedderException.badRequest("[" + POOL_FACTOR + "] must be an integer from 1 to " + MAX_POOL_FACTOR + ", got [" + poolFactor + "]");
        }
    }

    /** Reads the three keys from a parsed request (absent keys: the defaults). */
    public static TokenOptions parse(Map<String, ?> body) {
        return new TokenOptions(bool(body, DROP_SPECIAL_TOKENS), bool(body, DROP_PUNCTUATION), poolFactor(body.get(POOL_FACTOR)));
    }

    private static Boolean bool(Map<String, ?> body, String key) {
        if (!body.containsKey(key)) {
            return null;
        }
        if (body.get(key) instanceof Boolean b) {
            return b;
        }
        throw EmbedderException.badRequest("[" + key + "] must be true or false, got [" + body.get(key) + "]");
    }

    private static int poolFactor(Object value) {
        if (value == null) {
            return 1;
        }
        if (value instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue()) && n.doubleValue() >= 1 && n.doubleValue() <= MAX_POOL_FACTOR) {
            return n.intValue();
        }
        throw EmbedderException.badRequest("[" + POOL_FACTOR + "] must be an integer from 1 to " + MAX_POOL_FACTOR + ", got [" + value + "]");
    }
}
