package io.embedder.core.stats;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * Durations in microseconds, counted in buckets at most 1/8 as wide as their values: 0 to 7 µs one bucket each, then
 * every power of two split into 8 equal buckets (8-8, 9-9, ..., 16-17, ..., 48-51, ...). A percentile is reported as the
 * highest value of the bucket that holds it, never above the largest duration recorded, so it is at most 12.5% over
 * the exact value and never under it. Lock-free; snapshots of several nodes merge by adding their buckets.
 */
public final class LatencyHistogram {

    static final int SUB_BITS = 3;
    static final int SUB_BUCKETS = 1 << SUB_BITS;
    /** Durations of 2^41 µs (25 days) and more count in the last bucket. */
    static final int MAX_EXPONENT = 40;
    public static final int BUCKETS = SUB_BUCKETS + (MAX_EXPONENT - SUB_BITS + 1) * SUB_BUCKETS;

    private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);
    private final LongAdder sumMicros = new LongAdder();
    private final AtomicLong maxMicros = new AtomicLong();

    public void recordNanos(long nanos) {
        recordMicros(nanos / 1000);
    }

    public void recordMicros(long micros) {
        long v = Math.max(0, micros);
        counts.incrementAndGet(bucket(v));
        sumMicros.add(v);
        maxMicros.accumulateAndGet(v, Math::max);
    }

    public Snapshot snapshot() {
        long[] copy = new long[BUCKETS];
        for (int i = 0; i < BUCKETS; i++) {
            copy[i] = counts.get(i);
        }
        return new Snapshot(copy, sumMicros.sum(), maxMicros.get());
    }

    static int bucket(long micros) {
        if (micros < SUB_BUCKETS) {
            return (int) micros;
        }
        int exponent = 63 - Long.numberOfLeadingZeros(micros);
        if (exponent > MAX_EXPONENT) {
            return BUCKETS - 1;
        }
        int sub = (int) (micros >>> (exponent - SUB_BITS)) & (SUB_BUCKETS - 1);
        return SUB_BUCKETS + (exponent - SUB_BITS) * SUB_BUCKETS + sub;
    }

    static long lowest(int bucket) {
        if (bucket < SUB_BUCKETS) {
            return bucket;
        }
        int shift = (bucket - SUB_BUCKETS) / SUB_BUCKETS;
        int sub = (bucket - SUB_BUCKETS) % SUB_BUCKETS;
        return (long) (SUB_BUCKETS + sub) << shift;
    }

    static long highest(int bucket) {
        if (bucket < SUB_BUCKETS) {
            return bucket;
        }
        return lowest(bucket) + (1L << ((bucket - SUB_BUCKETS) / SUB_BUCKETS)) - 1;
    }

    /** Counts at one moment: immutable, mergeable, and what travels between nodes. */
    public static final class Snapshot {

        public static final Snapshot EMPTY = new Snapshot(new long[BUCKETS], 0, 0);

        private final long[] counts;
        private final long count;
        private final long sumMicros;
        private final long maxMicros;

        public Snapshot(long[] counts, long sumMicros, long maxMicros) {
            if (counts.length != BUCKETS) {
                throw new IllegalArgumentException("a latency histogram has " + BUCKETS + " buckets, got " + counts.length);
            }
            this.counts = counts.clone();
            this.count = Arrays.stream(counts).sum();
            this.sumMicros = sumMicros;
            this.maxMicros = maxMicros;
        }

        public long count() {
            return count;
        }

        public long sumMicros() {
            return sumMicros;
        }

        public long maxMicros() {
            return maxMicros;
        }

        public double meanMicros() {
            return count == 0 ? 0 : (double) sumMicros / count;
        }

        /**
         * The nearest-rank percentile ({@code q} in (0, 1]): the highest value of the bucket holding the
         * ⌈q·count⌉-th smallest duration, capped at the largest one. 0 when nothing was recorded.
         */
        public long percentileMicros(double q) {
            if (!(q > 0 && q <= 1)) {
                throw new IllegalArgumentException("percentile must be in (0, 1], got " + q);
            }
            if (count == 0) {
                return 0;
            }
            long rank = Math.max(1, (long) Math.ceil(q * count));
            long seen = 0;
            for (int i = 0; i < counts.length; i++) {
                seen += counts[i];
                if (seen >= rank) {
                    return Math.min(highest(i), maxMicros);
                }
            }
            return maxMicros;
        }

        public long[] bucketCounts() {
            return counts.clone();
        }

        public Snapshot plus(Snapshot other) {
            long[] sum = new long[BUCKETS];
            for (int i = 0; i < BUCKETS; i++) {
                sum[i] = counts[i] + other.counts[i];
            }
            return new Snapshot(sum, sumMicros + other.sumMicros, Math.max(maxMicros, other.maxMicros));
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Snapshot s && sumMicros == s.sumMicros && maxMicros == s.maxMicros && Arrays.equals(counts, s.counts);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(counts) * 31 + Long.hashCode(sumMicros);
        }

        @Override
        public String toString() {
            return "latency[count=" + count + ", mean=" + meanMicros() + "µs, max=" + maxMicros + "µs]";
        }
    }
}
