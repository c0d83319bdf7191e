package io.embedder.action;

import io.embedder.core.stats.ModelCounters;
import io.embedder.core.stats.ModelStats;
import org.junit.jupiter.api.Test;
import org.opensearch.common.io.stream.BytesStreamOutput;
import org.opensearch.core.common.io.stream.StreamInput;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Stats cross the wire unchanged, and read as the API documents them. */
class StatsWireTest {

    private static ModelStats sample() {
        ModelCounters c = new ModelCounters("bge-small-en-v1.5");
        c.started(false);
        c.onBatch(3, 12, 15, 2_500_000);
        c.succeeded(3, 4_000_000);
        c.started(true);
        c.onBatch(1, 3, 3, 1_000_000);
        c.succeeded(1, 1_500_000);
        c.queued();
        c.rejected();
        c.loaded(812_000_000, 35_000_000, 133_000_000, 266_000_000);
        return c.snapshot(true);
    }

    @Test
    void roundTrip() throws IOException {
        ModelStats stats = sample();
        try (BytesStreamOutput out = new BytesStreamOutput()) {
            StatsWire.write(out, stats);
            try (StreamInput in = out.bytes().streamInput()) {
                assertEquals(stats, StatsWire.read(in));
            }
        }
    }

    @Test
    void jsonOfOneNodeAndOfTheCluster() {
        Map<String, Object> node = StatsView.model(sample(), false);
        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put("loaded", true);
        expected.put("requests", 2L);
        expected.put("failures", 0L);
        expected.put("texts", 4L);
        expected.put("tokens", 15L);
        expected.put("padded_tokens", 18L);
        expected.put("batches", 2L);
        expected.put("batch_sizes", Map.of("1", 1L, "3-4", 1L));
        // 4000 µs is in bucket 3840-4095 and 1500 µs in 1408-1535: p50 (the 1st of 2) is 1.535 ms, p90 and p99 (3840-4095) capped at the max; batches: 1000 µs in 960-1023
        expected.put("request_latency_ms", Map.of("count", 2L, "mean", 2.75, "p50", 1.535, "p90", 4.0, "p99", 4.0, "max", 4.0));
        expected.put("batch_latency_ms", Map.of("count", 2L, "mean", 1.75, "p50", 1.023, "p90", 2.5, "p99", 2.5, "max", 2.5));
        expected.put("queued", 1L);
        expected.put("in_flight", 0L);
        expected.put("rejections", 1L);
        expected.put("cache_hits", 1L);
        expected.put("cache_misses", 1L);
        expected.put("loads", 1L);
        expected.put("unloads", 0L);
        expected.put("load_failures", 0L);
        expected.put("last_load_ms", 812L);
        expected.put("last_warmup_ms", 35L);
        expected.put("memory", Map.of("onnx_file_bytes", 133_000_000L, "estimated_native_bytes", 266_000_000L));
        assertEquals(expected, node);
        Map<String, Object> cluster = StatsView.model(sample().plus(sample()), true);
        assertEquals(2L, cluster.get("loaded_on_nodes"));
        assertEquals(4L, cluster.get("requests"));
        assertEquals(Map.of("onnx_file_bytes", 266_000_000L, "estimated_native_bytes", 532_000_000L), cluster.get("memory"));
    }
}
