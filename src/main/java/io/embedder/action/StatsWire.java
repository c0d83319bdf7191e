package io.embedder.action;

import io.embedder.core.stats.BatchSizeHistogram;
import io.embedder.core.stats.LatencyHistogram;
import io.embedder.core.stats.ModelStats;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;

import java.io.IOException;

/** The transport form of the core's {@link ModelStats}: every counter, and the histograms' buckets so nodes' stats add up. */
final class StatsWire {

    private StatsWire() {}

    static void write(StreamOutput out, ModelStats s) throws IOException {
        out.writeString(s.model());
        ModelStats.Traffic t = s.traffic();
        out.writeVLongArray(new long[] {t.requests(), t.failures(), t.texts(), t.tokens(), t.paddedTokens(), t.batches()});
        out.writeVLongArray(t.batchSizes().bucketCounts());
        write(out, s.latency().request());
        write(out, s.latency().batch());
        ModelStats.Queue q = s.queue();
        out.writeVLongArray(new long[] {q.queued(), q.inFlight(), q.rejections()});
        out.writeVLongArray(new long[] {s.cache().hits(), s.cache().misses()});
        ModelStats.Residency r = s.residency();
        out.writeVLongArray(new long[] {r.loadedCopies(), r.loads(), r.unloads(), r.loadFailures(), r.lastLoadMillis(), r.lastWarmupMillis(),
            r.onnxFileBytes(), r.estimatedNativeBytes()});
    }

    static ModelStats read(StreamInput in) throws IOException {
        String model = in.readString();
        long[] t = in.readVLongArray();
        ModelStats.Traffic traffic = new ModelStats.Traffic(t[0], t[1], t[2], t[3], t[4], t[5], new BatchSizeHistogram.Snapshot(in.readVLongArray()));
        ModelStats.Latency latency = new ModelStats.Latency(readLatency(in), readLatency(in));
        long[] q = in.readVLongArray();
        long[] c = in.readVLongArray();
        long[] r = in.readVLongArray();
        return new ModelStats(model, traffic, latency, new ModelStats.Queue(q[0], q[1], q[2]), new ModelStats.Cache(c[0], c[1]),
            new ModelStats.Residency(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]));
    }

    private static void write(StreamOutput out, LatencyHistogram.Snapshot h) throws IOException {
        out.writeVLongArray(h.bucketCounts());
        out.writeVLong(h.sumMicros());
        out.writeVLong(h.maxMicros());
    }

    private static LatencyHistogram.Snapshot readLatency(StreamInput in) throws IOException {
        return new LatencyHistogram.Snapshot(in.readVLongArray(), in.readVLong(), in.readVLong());
    }
}
