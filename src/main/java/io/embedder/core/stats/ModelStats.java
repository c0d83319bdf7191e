package io.embedder.core.stats;

/**
 * One model's counters on one node at one moment, or summed over nodes by {@link #plus}. Counters count since the node
 * started and survive unloading and reloading; {@link Residency} describes the copy in memory now.
 *
 * @param model the model's name (its directory)
 */
public record ModelStats(String model, Traffic traffic, Latency latency, Queue queue, Cache cache, Residency residency) {

    /**
     * @param requests     calls that reached the model: one per {@code _embed} request, per ingest sub-batch, per {@code text_knn}
     *                     search; failed ones included
     * @param failures     calls that ended in an error (bad parameters for this model, a text over the limit, inference)
     * @param texts        texts embedded by calls that succeeded
     * @param tokens       real tokens run through the graph (prompt and special tokens included)
     * @param paddedTokens tokens including the padding of each batch: {@code paddedTokens - tokens} is work spent on padding
     * @param batches      ONNX runs
     * @param batchSizes   texts per ONNX run
     */
    public record Traffic(long requests, long failures, long texts, long tokens, long paddedTokens, long batches,
                          BatchSizeHistogram.Snapshot batchSizes) {

        public static final Traffic NONE = new Traffic(0, 0, 0, 0, 0, 0, BatchSizeHistogram.Snapshot.EMPTY);

        Traffic plus(Traffic o) {
            return new Traffic(requests + o.requests, failures + o.failures, texts + o.texts, tokens + o.tokens,
                paddedTokens + o.paddedTokens, batches + o.batches, batchSizes.plus(o.batchSizes));
        }
    }

    /**
     * @param request from the embedder receiving a call to its result (tokenizing, every batch, and a load on first use)
     * @param batch   one ONNX run
     */
    public record Latency(LatencyHistogram.Snapshot request, LatencyHistogram.Snapshot batch) {

        public static final Latency NONE = new Latency(LatencyHistogram.Snapshot.EMPTY, LatencyHistogram.Snapshot.EMPTY);

        Latency plus(Latency o) {
            return new Latency(request.plus(o.request), batch.plus(o.batch));
        }
    }

    /**
     * @param queued     calls waiting now for an inference thread
     * @param inFlight   calls running now
     * @param rejections calls refused because the inference queue was full (answered 429)
     */
    public record Queue(long queued, long inFlight, long rejections) {

        public static final Queue NONE = new Queue(0, 0, 0);

        Queue plus(Queue o) {
            return new Queue(queued + o.queued, inFlight + o.inFlight, rejections + o.rejections);
        }
    }

    /**
     * The loaded-model cache.
     *
     * @param hits   calls that found the model loaded
     * @param misses calls that had to wait for it to load
     */
    public record Cache(long hits, long misses) {

        public static final Cache NONE = new Cache(0, 0);

        Cache plus(Cache o) {
            return new Cache(hits + o.hits, misses + o.misses);
        }
    }

    /**
     * @param loadedCopies         1 when the model is in memory on the node (the number of nodes, summed)
     * @param loads                successful loads: on first use, by the load API, or at start
     * @param unloads              unloads by the API (a reload replaces a copy without counting here)
     * @param loadFailures         loads that failed (invalid files, not enough memory)
     * @param lastLoadMillis       how long the latest load took: files, ONNX session, checks (the largest, summed)
     * @param lastWarmupMillis     how long the latest warm-up took (0 for a load on first use, which has none)
     * @param onnxFileBytes        size of the loaded copy's ONNX file (0 when not loaded)
     * @param estimatedNativeBytes native memory the loaded copy is estimated to hold: twice its ONNX file, the factor the
     *                             memory guard uses (0 when not loaded)
     */
    public record Residency(long loadedCopies, long loads, long unloads, long loadFailures, long lastLoadMillis,
                            long lastWarmupMillis, long onnxFileBytes, long estimatedNativeBytes) {

        public static final Residency NONE = new Residency(0, 0, 0, 0, 0, 0, 0, 0);

        Residency plus(Residency o) {
            return new Residency(loadedCopies + o.loadedCopies, loads + o.loads, unloads + o.unloads, loadFailures + o.loadFailures,
                Math.max(lastLoadMillis, o.lastLoadMillis), Math.max(lastWarmupMillis, o.lastWarmupMillis),
                onnxFileBytes + o.onnxFileBytes, estimatedNativeBytes + o.estimatedNativeBytes);
        }
    }

    /** A model nothing has touched. */
    public static ModelStats none(String model) {
        return new ModelStats(model, Traffic.NONE, Latency.NONE, Queue.NONE, Cache.NONE, Residency.NONE);
    }

    /** The same model's counters added up (several nodes): counts and memory add, load times keep the largest. */
    public ModelStats plus(ModelStats other) {
        if (!model.equals(other.model)) {
            throw new IllegalArgumentException("cannot add stats of model [" + other.model + "] to model [" + model + "]");
        }
        return new ModelStats(model, traffic.plus(other.traffic), latency.plus(other.latency), queue.plus(other.queue),
            cache.plus(other.cache), residency.plus(other.residency));
    }
}
