package io.embedder.core.stats;

import io.embedder.core.runtime.LoadedModel;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** One model's live counters on this node; lock-free, updated by every caller of the model. */
public final class ModelCounters implements LoadedModel.BatchObserver {

    private final String model;
    private final LongAdder requests = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final LongAdder texts = new LongAdder();
    private final LongAdder tokens = new LongAdder();
    private final LongAdder paddedTokens = new LongAdder();
    private final LongAdder batches = new LongAdder();
    private final BatchSizeHistogram batchSizes = new BatchSizeHistogram();
    private final LatencyHistogram requestLatency = new LatencyHistogram();
    private final LatencyHistogram batchLatency = new LatencyHistogram();
    private final AtomicLong queued = new AtomicLong();
    private final AtomicLong inFlight = new AtomicLong();
    private final LongAdder rejections = new LongAdder();
    private final LongAdder cacheHits = new LongAdder();
    private final LongAdder cacheMisses = new LongAdder();
    private final LongAdder loads = new LongAdder();
    private final LongAdder unloads = new LongAdder();
    private final LongAdder loadFailures = new LongAdder();
    private volatile LoadRecord lastLoad = new LoadRecord(0, 0, 0, 0);

    private record LoadRecord(long loadMillis, long warmupMillis, long onnxFileBytes, long estimatedNativeBytes) {}

    public ModelCounters(String model) {
        this.model = model;
    }

    /** A call is waiting for an inference thread. */
    public void queued() {
        queued.incrementAndGet();
    }

    /** A waiting call got its thread, or was refused. */
    public void dequeued() {
        queued.decrementAndGet();
    }

    public void rejected() {
        rejections.increment();
    }

    /** A call reached the model, which was loaded ({@code hit}) or had to be loaded. */
    public void started(boolean hit) {
        requests.increment();
        inFlight.incrementAndGet();
        (hit ? cacheHits : cacheMisses).increment();
    }

    public void succeeded(int textCount, long nanos) {
        texts.add(textCount);
        requestLatency.recordNanos(nanos);
        inFlight.decrementAndGet();
    }

    public void failed() {
        failures.increment();
        inFlight.decrementAndGet();
    }

    @Override
    public void onBatch(int size, int realTokens, int allTokens, long nanos) {
        batches.increment();
        batchSizes.record(size);
        tokens.add(realTokens);
        paddedTokens.add(allTokens);
        batchLatency.recordNanos(nanos);
    }

    public void loaded(long loadNanos, long warmupNanos, long onnxFileBytes, long estimatedNativeBytes) {
        loads.increment();
        lastLoad = new LoadRecord(loadNanos / 1_000_000, warmupNanos / 1_000_000, onnxFileBytes, estimatedNativeBytes);
    }

    public void loadFailed() {
        loadFailures.increment();
    }

    public void unloaded() {
        unloads.increment();
    }

    /** The counters now; memory is reported only while the model is {@code loaded}, as it was estimated at its load. */
    public ModelStats snapshot(boolean loaded) {
        LoadRecord load = lastLoad;
        return snapshot(loaded, load.onnxFileBytes(), load.estimatedNativeBytes());
    }

    /**
     * The counters now, memory as {@code copy} (the copy in memory, or null when none) estimates it now: it grows when
     * the copy opens its full graph beside a first-token graph.
     */
    public ModelStats snapshot(LoadedModel copy) {
        return copy == null ? snapshot(false) : snapshot(true, copy.onnxFileBytes(), copy.estimatedNativeBytes());
    }

    private ModelStats snapshot(boolean loaded, long onnxFileBytes, long estimatedNativeBytes) {
        LoadRecord load = lastLoad;
        return new ModelStats(model,
            new ModelStats.Traffic(requests.sum(), failures.sum(), texts.sum(), tokens.sum(), paddedTokens.sum(), batches.sum(),
                batchSizes.snapshot()),
            new ModelStats.Latency(requestLatency.snapshot(), batchLatency.snapshot()),
            new ModelStats.Queue(queued.get(), inFlight.get(), rejections.sum()),
            new ModelStats.Cache(cacheHits.sum(), cacheMisses.sum()),
            new ModelStats.Residency(loaded ? 1 : 0, loads.sum(), unloads.sum(), loadFailures.sum(), load.loadMillis(), load.warmupMillis(),
                loaded ? onnxFileBytes : 0, loaded ? estimatedNativeBytes : 0));
    }
}
