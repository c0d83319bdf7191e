package io.embedder.core.pooling;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How a model turns its token states into what it returns. Every strategy that reads token states is
 * mask-aware: padding positions never contribute, wherever the padding sits (left or right).
 */
public enum Pooling {
    /** The first real token (the [CLS] position under right padding). */
    CLS("cls"),
    /** Masked mean over real tokens. */
    MEAN("mean"),
    /** Per-dimension maximum over real tokens. */
    MAX("max"),
    /** Per-dimension minimum over real tokens. */
    MIN("min"),
    /** Sum over real tokens divided by the square root of their count. */
    MEAN_SQRT_LEN("mean_sqrt_len"),
    /** sentence-transformers' weighted mean: real token i (from 1) weighs i. */
    WEIGHTED_MEAN("weighted_mean"),
    /** The last real token, under left or right padding. */
    LAST_TOKEN("last_token"),
    /** The model already pools: its output has rank 2, one vector per text. */
    NONE("none"),
    /** No pooling: one vector per real token (late interaction). */
    ALL("all");

    private final String id;

    Pooling(String id) {
        this.id = id;
    }

    /** The name users write and the models API shows. */
    public String id() {
        return id;
    }

    /** Rank of the model output this strategy reads: 2 for {@link #NONE}, else 3 ([batch, tokens, dim]). */
    public int outputRank() {
        return this == NONE ? 2 : 3;
    }

    /** Whether this strategy reduces token states to one vector per text. */
    public boolean reducesTokens() {
        return this != NONE && this != ALL;
    }

    public static String allowed() {
        return Arrays.stream(values()).map(Pooling::id).collect(Collectors.joining(", ", "[", "]"));
    }

    /** Parses a pooling name; the message lists the allowed names. */
    public static Pooling fromId(String id) {
        for (Pooling p : values()) {
            if (p.id.equals(id == null ? null : id.toLowerCase(Locale.ROOT))) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown pooling [" + id + "]; allowed: " + allowed());
    }
}
