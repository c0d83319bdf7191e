package io.embedder.it;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One client thread sending {@code text_knn} searches (k 10) one after the other, with a pause between them, until
 * stopped; records each search's wall time as the client sees it. Any answer other than 200 fails the bench.
 */
final class SearchLoad implements AutoCloseable {

    private final String index;
    private final List<String> queries;
    private final long pauseMs;
    private final List<Double> millis = new ArrayList<>();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread thread;
    private volatile AssertionError failure;

    private SearchLoad(String index, List<String> queries, long pauseMs, int offset) {
        this.index = index;
        this.queries = queries;
        this.pauseMs = pauseMs;
        this.thread = new Thread(() -> loop(offset), "search-load");
    }

    /** Starts searching {@code index} with {@code queries} in turn, beginning at {@code offset}. */
    static SearchLoad start(String index, List<String> queries, long pauseMs, int offset) {
        SearchLoad load = new SearchLoad(index, queries, pauseMs, offset);
        load.thread.start();
        return load;
    }

    /** Runs {@code count} searches back to back on an otherwise idle node and returns their sorted times. */
    static double[] idle(String index, List<String> queries, int count) {
        List<Double> ms = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ms.add(search(index, queries.get(i % queries.size())));
        }
        return sorted(ms);
    }

    private void loop(int offset) {
        int i = offset;
        try {
            while (running.get()) {
                double ms = search(index, queries.get(i++ % queries.size()));
                synchronized (millis) {
                    millis.add(ms);
                }
                Thread.sleep(pauseMs);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (AssertionError e) {
            failure = e;
        }
    }

    private static double search(String index, String text) {
        String body = Node.json(Map.of("size", 10, "_source", false,
            "query", Map.of("text_knn", Map.of("vec", Map.of("query_text", text, "k", 10)))));
        long start = System.nanoTime();
        Node.Response r = Node.post("/" + index + "/_search", body);
        double ms = (System.nanoTime() - start) / 1e6;
        if (r.status() != 200) {
            throw new AssertionError("text_knn on " + index + " -> " + r.status() + " " + r.body());
        }
        return ms;
    }

    /** Stops the thread and returns the sorted search times. */
    double[] stop() throws InterruptedException {
        running.set(false);
        thread.join();
        if (failure != null) {
            throw failure;
        }
        synchronized (millis) {
            return sorted(millis);
        }
    }

    @Override
    public void close() throws InterruptedException {
        running.set(false);
        thread.join();
    }

    static double[] sorted(List<Double> values) {
        double[] a = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(a);
        return a;
    }

    /** Nearest-rank percentile of sorted values; NaN when there are none. */
    static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, rank - 1)];
    }
}
