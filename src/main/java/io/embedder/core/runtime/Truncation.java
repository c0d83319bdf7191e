package io.embedder.core.runtime;

/**
 * How a text longer than allowed is cut, in the spirit of vLLM's {@code truncate_prompt_tokens}. Counts are of
 * content tokens (the prompt prefix included); the tokenizer's leading and trailing special tokens are always kept.
 */
public sealed interface Truncation {

    /** Keep the first tokens, up to the model's limit (the default, as sentence-transformers does). */
    record ModelDefault() implements Truncation {}

    /** No truncation: a text over the model's limit is an error. */
    record None() implements Truncation {}

    /** Keep the last {@code tokens} content tokens. */
    record KeepLast(int tokens) implements Truncation {
        public KeepLast {
            if (tokens < 1) {
                throw new IllegalArgumentException("tokens must be positive");
            }
        }
    }

    Truncation MODEL_DEFAULT = new ModelDefault();
    Truncation NONE = new None();
}
