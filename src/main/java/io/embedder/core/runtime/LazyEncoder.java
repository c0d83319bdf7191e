package io.embedder.core.runtime;

import java.util.function.Supplier;

/**
 * An encoder opened on its first run and kept until closed: a model's full graph when its dense embeddings run the
 * {@link FirstTokenGraph first-token graph}, which only token-level requests need. Thread-safe: concurrent first runs
 * open it once (the others wait); a failed opening throws to the run that tried, and the next run tries again.
 */
final class LazyEncoder implements LoadedModel.Encoder {

    private final Supplier<LoadedModel.Encoder> opener;
    private volatile LoadedModel.Encoder encoder;
    private boolean closed;

    /** @param opener opens the encoder (on a thread that runs native code: a big stack) */
    LazyEncoder(Supplier<LoadedModel.Encoder> opener) {
        this.opener = opener;
    }

    @Override
    public HiddenStates run(BatchBuffers buffers, int batch, int seq, int dim) {
        return encoder().run(buffers, batch, seq, dim);
    }

    /** The opened encoder's; a padded graph's (1) until it is opened. */
    @Override
    public double paddingCost() {
        LoadedModel.Encoder e = encoder;
        return e == null ? 1.0 : e.paddingCost();
    }

    /** Whether it has been opened (and so holds native memory). */
    boolean opened() {
        return encoder != null;
    }

    private LoadedModel.Encoder encoder() {
        LoadedModel.Encoder e = encoder;
        if (e != null) {
            return e;
        }
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("the model is closed");
            }
            if (encoder == null) {
                encoder = opener.get();
            }
            return encoder;
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (encoder != null) {
            encoder.close();
        }
    }
}
