package io.embedder.ingest;

import java.util.concurrent.atomic.LongAdder;

/** Texts whose stored vector the {@code embed} processor reused ({@code skip_existing}) instead of embedding them again; per node. */
public final class ReuseCounter {

    private final LongAdder texts = new LongAdder();

    void add(int reusedTexts) {
        texts.add(reusedTexts);
    }

    public long reusedTexts() {
        return texts.sum();
    }
}
