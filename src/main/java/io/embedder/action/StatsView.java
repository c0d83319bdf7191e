package io.embedder.action;

import io.embedder.core.stats.LatencyHistogram;
import io.embedder.core.stats.ModelStats;

import java.util.LinkedHashMap;
import java.util.Map;

/** The stats API's JSON for one model, on one node or summed over the cluster. */
final class StatsView {

    private StatsView() {}

    static Map<String, Object> model(ModelStats s, boolean cluster) {
        Map<String, Object> m = new LinkedHashMap<>();
        ModelStats.Residency r = s.residency();
        if (cluster) {
            m.put("loaded_on_nodes", r.loadedCopies());
        } else {
            m.put("loaded", r.loadedCopies() > 0);
        }
        ModelStats.Traffic t = s.traffic();
        m.put("requests", t.requests());
        m.put("failures", t.failures());
        m.put("texts", t.texts());
        m.put("tokens", t.tokens());
        m.put("padded_tokens", t.paddedTokens());
        m.put("batches", t.batches());
        m.put("batch_sizes", t.batchSizes().nonEmpty());
        m.put("request_latency_ms", latency(s.latency().request()));
        m.put("batch_latency_ms", latency(s.latency().batch()));
        m.put("queued", s.queue().queued());
        m.put("in_flight", s.queue().inFlight());
        m.put("rejections", s.queue().rejections());
        m.put("cache_hits", s.cache().hits());
        m.put("cache_misses", s.cache().misses());
        m.put("loads", r.loads());
        m.put("unloads", r.unloads());
        m.put("load_failures", r.loadFailures());
        m.put("last_load_ms", r.lastLoadMillis());
        m.put("last_warmup_ms", r.lastWarmupMillis());
        Map<String, Object> memory = new LinkedHashMap<>();
        memory.put("onnx_file_bytes", r.onnxFileBytes());
        memory.put("estimated_native_bytes", r.estimatedNativeBytes());
        m.put("memory", memory);
        return m;
    }

    /** Count, mean, p50, p90, p99 and max in milliseconds (microsecond precision; percentiles at most 12.5% high). */
    static Map<String, Object> latency(LatencyHistogram.Snapshot h) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("count", h.count());
        m.put("mean", millis(Math.round(h.meanMicros())));
        m.put("p50", millis(h.percentileMicros(0.50)));
        m.put("p90", millis(h.percentileMicros(0.90)));
        m.put("p99", millis(h.percentileMicros(0.99)));
        m.put("max", millis(h.maxMicros()));
        return m;
    }

    private static double millis(long micros) {
        return micros / 1000.0;
    }
}
