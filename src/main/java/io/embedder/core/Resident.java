package io.embedder.core;

import io.embedder.core.runtime.LoadedModel;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loaded model and the count of its users: the embedder's table holds one reference and every running call one
 * more. Once retired (unloaded or replaced), the model is closed by whoever drops the last reference, so a call never
 * runs on a closed ONNX session.
 */
final class Resident {

    private final LoadedModel model;
    private final AtomicInteger references = new AtomicInteger(1);
    private final AtomicBoolean retired = new AtomicBoolean();

    Resident(LoadedModel model) {
        this.model = model;
    }

    LoadedModel model() {
        return model;
    }

    /** Takes a reference; false when the model is already closed or closing (then look it up again). */
    boolean tryAcquire() {
        while (true) {
            int n = references.get();
            if (n == 0) {
                return false;
            }
            if (references.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    void release() {
        if (references.decrementAndGet() == 0) {
            model.close();
        }
    }

    /** Drops the table's reference, once. */
    void retire() {
        if (retired.compareAndSet(false, true)) {
            release();
        }
    }
}
