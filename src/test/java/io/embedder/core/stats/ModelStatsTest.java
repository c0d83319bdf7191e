package io.embedder.core.stats;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ModelStatsTest {

    @Test
    void countersOfTwoNodesAddUpAndLoadTimesKeepTheLargest() {
        ModelCounters one = new ModelCounters("m");
        one.started(false);
        one.onBatch(3, 20, 24, 2_000_000);
        one.succeeded(3, 5_000_000);
        one.loaded(800_000_000, 40_000_000, 1000, 2000);
        ModelCounters two = new ModelCounters("m");
        two.started(true);
        two.failed();
        two.queued();
        two.rejected();
        two.loaded(1_200_000_000, 0, 1000, 2000);
        two.unloaded();

        ModelStats sum = one.snapshot(true).plus(two.snapshot(false));
        assertEquals(new ModelStats.Traffic(2, 1, 3, 20, 24, 1, new BatchSizeHistogram.Snapshot(new long[] {0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0})),
            sum.traffic());
        assertEquals(new ModelStats.Queue(1, 0, 1), sum.queue());
        assertEquals(new ModelStats.Cache(1, 1), sum.cache());
        // one copy in memory (node two unloaded it: no memory there); the slowest load and warm-up
        assertEquals(new ModelStats.Residency(1, 2, 1, 0, 1200, 40, 1000, 2000), sum.residency());
        assertEquals(1, sum.latency().request().count());
        assertEquals(5000, sum.latency().request().maxMicros());
        assertEquals(2000, sum.latency().batch().maxMicros());
        assertEquals("cannot add stats of model [x] to model [m]",
            assertThrows(IllegalArgumentException.class, () -> sum.plus(ModelStats.none("x"))).getMessage());
    }
}
