package io.embedder.it;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Bulk-ingests texts into a fresh index through an ingest pipeline: {@code clients} threads each send bulks of
 * {@code bulkSize} documents ({@code {"body": text}}) until all are sent. Timed from the first bulk sent to the last
 * answer; every item must be created and the index must then hold every document, else the bench fails.
 */
final class BulkIngest {

    private BulkIngest() {}

    /**
     * A fresh one-shard index whose {@code body} goes through {@code pipeline} into the {@code vec} knn_vector field;
     * {@code model} is recorded in the mapping's {@code _meta} so {@code text_knn} can search it.
     */
    static void createIndex(String index, String pipeline, String model, int shards) {
        Node.delete("/" + index);
        Node.Response r = Node.put("/" + index, """
            {"settings": {"index.knn": true, "number_of_shards": %d, "number_of_replicas": 0, "default_pipeline": "%s"},
             "mappings": {"_meta": {"embedder": {"fields": {"vec": {"model": "%s"}}}},
                          "properties": {"body": {"type": "text"},
                                         "vec": {"type": "knn_vector", "dimension": 384,
                                                 "method": {"name": "hnsw", "engine": "lucene", "space_type": "cosinesimil"}}}}}"""
            .formatted(shards, pipeline, model));
        if (r.status() != 200) {
            throw new AssertionError("create " + index + " -> " + r.status() + " " + r.body());
        }
    }

    /** Sends every text as {@code {"body": text}}; returns the seconds it took. */
    static double run(String index, List<String> texts, int bulkSize, int clients) throws InterruptedException {
        return runSources(index, texts.stream().map(t -> Node.json(Map.of("body", t))).toList(), bulkSize, clients);
    }

    /** Sends every document source (JSON), document i with id i; returns the seconds it took. */
    static double runSources(String index, List<String> sources, int bulkSize, int clients) throws InterruptedException {
        List<String> bulks = new ArrayList<>();
        for (int from = 0; from < sources.size(); from += bulkSize) {
            StringBuilder sb = new StringBuilder();
            for (int i = from; i < Math.min(sources.size(), from + bulkSize); i++) {
                sb.append("{\"index\":{\"_index\":\"").append(index).append("\",\"_id\":\"").append(i).append("\"}}\n")
                    .append(sources.get(i)).append('\n');
            }
            bulks.add(sb.toString());
        }
        AtomicInteger next = new AtomicInteger();
        AtomicReference<String> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            threads.add(new Thread(() -> {
                int b;
                while (failure.get() == null && (b = next.getAndIncrement()) < bulks.size()) {
                    String error = send(bulks.get(b));
                    if (error != null) {
                        failure.compareAndSet(null, error);
                    }
                }
            }, "bulk-" + c));
        }
        long start = System.nanoTime();
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (failure.get() != null) {
            throw new AssertionError("bulk into " + index + ": " + failure.get());
        }
        Node.post("/" + index + "/_refresh", "{}");
        long count = Node.get("/" + index + "/_count").object().get("count").getAsLong();
        if (count != sources.size()) {
            throw new AssertionError(index + " holds " + count + " documents, " + sources.size() + " were sent");
        }
        return seconds;
    }

    /** Sends one bulk; returns the first problem, or null when every item was created. */
    private static String send(String ndjson) {
        Node.Response r = Node.bulk(ndjson);
        if (r.status() != 200) {
            return "status " + r.status() + " " + r.body();
        }
        if (!r.object().get("errors").getAsBoolean()) {
            return null;
        }
        for (JsonElement item : r.object().getAsJsonArray("items")) {
            JsonObject result = item.getAsJsonObject().getAsJsonObject("index");
            if (result.get("status").getAsInt() >= 300) {
                return "item " + result;
            }
        }
        return null;
    }
}
