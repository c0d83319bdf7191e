package io.embedder.bench;

import io.embedder.core.lateinteraction.ElementType;
import io.embedder.core.lateinteraction.PreparedQuery;
import io.embedder.core.lateinteraction.MaxSimScorer;
import io.embedder.core.lateinteraction.TokenVectors;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * MaxSim of one 32-vector query against documents of 180 vectors × 384 dimensions, one document per operation, so the
 * score is documents per second on one thread. The documents (32 different ones, cycled: 8.8 MB as float, more than
 * the L2 cache) are unit vectors of Gaussian components, encoded in the stored layout of each element type.
 * Besides wall-clock throughput, {@link CpuTime} counts documents per second of this thread's CPU time, which the
 * other processes of a shared machine do not disturb as much. Run by {@link MaxSimBenchMain}
 * ({@code scripts/bench.sh maxsim}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class MaxSimBench {

    public static final int QUERY_VECTORS = 32;
    public static final int DOC_VECTORS = 180;
    public static final int DIMS = 384;
    static final int DOCS = 32;

    @Param({"float", "byte", "bit"})
    public String type;

    private float[][] query;
    private ElementType elementType;
    private byte[][] docs;
    private int next;
    private MaxSimScorer scorer;
    private RowsMaxSim vectorUtilRows;
    private RowsMaxSim scalarLoop;

    /**
     * Documents (or queries) per CPU-second of the benchmark thread: the thread's CPU time is read every 64 operations,
     * and {@code docs} counts the operations of the whole windows read.
     */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class CpuTime {
        private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
        public long docs;
        public long cpuNanos;
        private long ops;
        private long last;

        @Setup(Level.Iteration)
        public void reset() {
            docs = 0;
            cpuNanos = 0;
            ops = 0;
            last = 0;
        }

        void count() {
            if ((++ops & 63) == 0) {
                long now = THREADS.getCurrentThreadCpuTime();
                if (last != 0) {
                    cpuNanos += now - last;
                    docs += 64;
                }
                last = now;
            }
        }
    }

    @Setup
    public void setUp() {
        Random random = new Random(42);
        elementType = ElementType.fromId(type);
        query = unitVectors(random, QUERY_VECTORS);
        docs = new byte[DOCS][];
        for (int d = 0; d < DOCS; d++) {
            docs[d] = TokenVectors.encode(elementType, unitVectors(random, DOC_VECTORS));
        }
        scorer = new MaxSimScorer(query, elementType);
        vectorUtilRows = new RowsMaxSim(query, elementType, false);
        scalarLoop = new RowsMaxSim(query, elementType, true);
        System.out.println("MaxSim kernel: " + MaxSimScorer.kernel());
    }

    private byte[] nextDoc() {
        byte[] doc = docs[next];
        next = (next + 1) % DOCS;
        return doc;
    }

    /** The scorer as the plugin runs it. */
    @Benchmark
    public float scorer(CpuTime cpu) {
        byte[] doc = nextDoc();
        cpu.count();
        return scorer.score(doc, 0, doc.length);
    }

    /** The first scorer: per-vector decode into float rows, one Lucene VectorUtil.dotProduct per pair. */
    @Benchmark
    public float vectorUtilRows(CpuTime cpu) {
        byte[] doc = nextDoc();
        cpu.count();
        return vectorUtilRows.score(doc, 0, doc.length);
    }

    /** The same with a plain Java dot-product loop. */
    @Benchmark
    public float scalarLoop(CpuTime cpu) {
        byte[] doc = nextDoc();
        cpu.count();
        return scalarLoop.score(doc, 0, doc.length);
    }

    /** Preparing the query once per search (transposition; for bit storage, the lookup table). */
    @Benchmark
    public PreparedQuery prepareQuery(CpuTime cpu) {
        cpu.count();
        return new PreparedQuery(query, elementType);
    }

    static float[][] unitVectors(Random random, int n) {
        float[][] out = new float[n][DIMS];
        for (float[] v : out) {
            double norm = 0;
            for (int k = 0; k < DIMS; k++) {
                v[k] = (float) random.nextGaussian();
                norm += v[k] * v[k];
            }
            for (int k = 0; k < DIMS; k++) {
                v[k] /= (float) Math.sqrt(norm);
            }
        }
        return out;
    }
}
