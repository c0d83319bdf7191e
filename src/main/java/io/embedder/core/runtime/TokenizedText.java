package io.embedder.core.runtime;

/**
 * One text as the model will see it: token ids and type ids, special tokens included, already truncated.
 *
 * @param untruncatedLength tokens the whole text would have taken
 */
public record TokenizedText(long[] ids, long[] typeIds, int untruncatedLength) {
    public int length() {
        return ids.length;
    }
}
