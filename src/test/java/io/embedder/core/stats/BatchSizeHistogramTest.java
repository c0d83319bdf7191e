package io.embedder.core.stats;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class BatchSizeHistogramTest {

    @Test
    void powerOfTwoBucketsWithTheirLabels() {
        BatchSizeHistogram h = new BatchSizeHistogram();
        for (int size : new int[] {1, 1, 2, 3, 4, 5, 8, 9, 32, 33, 1024, 5000}) {
            h.record(size);
        }
        Map<String, Long> expected = new LinkedHashMap<>();
        expected.put("1", 2L);
        expected.put("2", 1L);
        expected.put("3-4", 2L);
        expected.put("5-8", 2L);
        expected.put("9-16", 1L);
        expected.put("17-32", 1L);
        expected.put("33-64", 1L);
        expected.put("513-1024", 2L);
        assertEquals(expected, h.snapshot().nonEmpty());
        assertEquals(Map.of("1", 2L), new BatchSizeHistogram.Snapshot(new long[] {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
            .plus(new BatchSizeHistogram.Snapshot(new long[] {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})).nonEmpty());
    }
}
