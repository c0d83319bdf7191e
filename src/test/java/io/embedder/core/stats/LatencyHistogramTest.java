package io.embedder.core.stats;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LatencyHistogramTest {

    @Test
    void bucketsAreExactBelowEightThenEightPerPowerOfTwo() {
        for (int v = 0; v < 8; v++) {
            assertEquals(v, LatencyHistogram.bucket(v));
        }
        // 8..15: width 1; 16..31: width 2; 32..63: width 4 (48..51 is one bucket)
        assertEquals(8, LatencyHistogram.bucket(8));
        assertEquals(15, LatencyHistogram.bucket(15));
        assertEquals(16, LatencyHistogram.bucket(16));
        assertEquals(16, LatencyHistogram.bucket(17));
        assertEquals(28, LatencyHistogram.bucket(48));
        assertEquals(28, LatencyHistogram.bucket(51));
        assertEquals(29, LatencyHistogram.bucket(52));
        assertEquals(48, LatencyHistogram.lowest(28));
        assertEquals(51, LatencyHistogram.highest(28));
        assertEquals(LatencyHistogram.BUCKETS - 1, LatencyHistogram.bucket(Long.MAX_VALUE));
    }

    /** 1, 2, ..., 100 µs: nearest-rank p50 is 50 (bucket 48-51), p90 is 90 (88-95), p99 is 99 (96-103, capped at max 100). */
    @Test
    void percentilesOfOneToAHundredByHand() {
        LatencyHistogram h = new LatencyHistogram();
        for (int v = 1; v <= 100; v++) {
            h.recordNanos(v * 1000L + 999);
        }
        LatencyHistogram.Snapshot s = h.snapshot();
        assertEquals(100, s.count());
        assertEquals(5050, s.sumMicros());
        assertEquals(50.5, s.meanMicros());
        assertEquals(51, s.percentileMicros(0.50));
        assertEquals(95, s.percentileMicros(0.90));
        assertEquals(100, s.percentileMicros(0.99));
        assertEquals(100, s.percentileMicros(1.0));
        assertEquals(1, s.percentileMicros(0.01));
        assertEquals(100, s.maxMicros());
    }

    @Test
    void emptyAndInvalid() {
        LatencyHistogram.Snapshot empty = new LatencyHistogram().snapshot();
        assertEquals(0, empty.count());
        assertEquals(0, empty.percentileMicros(0.99));
        assertEquals(0.0, empty.meanMicros());
        assertEquals(LatencyHistogram.Snapshot.EMPTY, empty);
        assertEquals("percentile must be in (0, 1], got 0.0",
            assertThrows(IllegalArgumentException.class, () -> empty.percentileMicros(0)).getMessage());
        assertEquals("a latency histogram has 312 buckets, got 3",
            assertThrows(IllegalArgumentException.class, () -> new LatencyHistogram.Snapshot(new long[3], 0, 0)).getMessage());
    }

    /** A percentile is never under the exact nearest-rank value, and at most 1/8 over it. */
    @Property
    void percentilesAreWithinOneEighthAbove(@ForAll @Size(min = 1, max = 300) List<@LongRange(min = 0, max = 100_000_000) Long> micros) {
        LatencyHistogram h = new LatencyHistogram();
        micros.forEach(h::recordMicros);
        long[] sorted = micros.stream().mapToLong(Long::longValue).sorted().toArray();
        LatencyHistogram.Snapshot s = h.snapshot();
        for (double q : new double[] {0.5, 0.9, 0.99, 1.0}) {
            long exact = sorted[(int) Math.ceil(q * sorted.length) - 1];
            long reported = s.percentileMicros(q);
            assertTrue(reported >= exact && reported <= exact + exact / 8, q + ": " + reported + " for exact " + exact);
        }
        assertEquals(Arrays.stream(sorted).sum(), s.sumMicros());
        assertEquals(sorted[sorted.length - 1], s.maxMicros());
    }

    /** Two nodes' snapshots added up are the snapshot of all their durations. */
    @Property
    void mergingEqualsRecordingEverything(@ForAll List<@LongRange(min = 0, max = 10_000_000) Long> a,
                                          @ForAll List<@LongRange(min = 0, max = 10_000_000) Long> b) {
        LatencyHistogram ha = new LatencyHistogram();
        LatencyHistogram hb = new LatencyHistogram();
        LatencyHistogram all = new LatencyHistogram();
        a.forEach(v -> { ha.recordMicros(v); all.recordMicros(v); });
        b.forEach(v -> { hb.recordMicros(v); all.recordMicros(v); });
        assertEquals(all.snapshot(), ha.snapshot().plus(hb.snapshot()));
    }
}
