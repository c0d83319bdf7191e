package io.embedder.core.runtime;

/**
 * One text as the model will see it: token ids and type ids, special tokens included, already truncated.
 *
 * @param untruncatedLength tokens the whole text would have taken
 * @param kinds             per token: {@link #TEXT}, {@link #SPECIAL} (the tokenizer's [CLS], [SEP], ... or a marker
 *                          token) or {@link #EXPANSION} (a query augmentation token)
 * @param attention         per token, the attention mask value (0 or 1); null when every token is attended
 */
public record TokenizedText(long[] ids, long[] typeIds, int untruncatedLength, byte[] kinds, long[] attention) {

    public static final byte TEXT = 0;
    public static final byte SPECIAL = 1;
    public static final byte EXPANSION = 2;

    /** Every token attended, none special. */
    public TokenizedText(long[] ids, long[] typeIds, int untruncatedLength) {
        this(ids, typeIds, untruncatedLength, new byte[ids.length], null);
    }

    public int length() {
        return ids.length;
    }
}
