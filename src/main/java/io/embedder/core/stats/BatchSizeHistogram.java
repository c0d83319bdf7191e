package io.embedder.core.stats;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * How many ONNX batches had how many texts, in power-of-two buckets: 1, 2, 3-4, 5-8, ..., 513-1024 (larger sizes count
 * in the last bucket; {@code embedder.batch.max_size} is at most 1024). Lock-free.
 */
public final class BatchSizeHistogram {

    public static final int BUCKETS = 11;

    private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);

    public void record(int batchSize) {
        counts.incrementAndGet(bucket(batchSize));
    }

    public Snapshot snapshot() {
        long[] copy = new long[BUCKETS];
        for (int i = 0; i < BUCKETS; i++) {
            copy[i] = counts.get(i);
        }
        return new Snapshot(copy);
    }

    /** 0 for size 1, else ⌈log2 size⌉: 2 → 1, 3-4 → 2, 5-8 → 3. */
    static int bucket(int size) {
        if (size <= 1) {
            return 0;
        }
        return Math.min(BUCKETS - 1, 32 - Integer.numberOfLeadingZeros(size - 1));
    }

    /** "1", "2", "3-4", "5-8", ... */
    static String label(int bucket) {
        if (bucket <= 1) {
            return String.valueOf(bucket + 1);
        }
        return ((1 << (bucket - 1)) + 1) + "-" + (1 << bucket);
    }

    public static final class Snapshot {

        public static final Snapshot EMPTY = new Snapshot(new long[BUCKETS]);

        private final long[] counts;

        public Snapshot(long[] counts) {
            if (counts.length != BUCKETS) {
                throw new IllegalArgumentException("a batch size histogram has " + BUCKETS + " buckets, got " + counts.length);
            }
            this.counts = counts.clone();
        }

        public long[] bucketCounts() {
            return counts.clone();
        }

        /** Bucket label to count, smallest sizes first, buckets with no batch left out. */
        public Map<String, Long> nonEmpty() {
            Map<String, Long> out = new LinkedHashMap<>();
            for (int i = 0; i < counts.length; i++) {
                if (counts[i] > 0) {
                    out.put(label(i), counts[i]);
                }
            }
            return out;
        }

        public Snapshot plus(Snapshot other) {
            long[] sum = new long[BUCKETS];
            for (int i = 0; i < BUCKETS; i++) {
                sum[i] = counts[i] + other.counts[i];
            }
            return new Snapshot(sum);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Snapshot s && Arrays.equals(counts, s.counts);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(counts);
        }

        @Override
        public String toString() {
            return "batch_sizes" + nonEmpty();
        }
    }
}
