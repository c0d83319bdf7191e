package io.embedder.it;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Load on loopback, bounded in time (-Dbench.minutes, default 3): bulk threads through the embed pipeline and
 * text_knn search threads at once (-Dbench.bulkers, -Dbench.searchers, default 2 each). Reports answers by status,
 * documents acknowledged and lost, search latency, and the node's resident memory over time (-Dbench.node.pid).
 * With -Dbench.ids=N the bulks cycle through ids 0..N-1 (overwriting), so the index stops growing at N documents and
 * the memory figures show the node's own behaviour rather than the index's growth; lost then counts distinct ids.
 * Not a test: run by scripts/bench.sh load.
 */
class LoadBench {

    private static final String INDEX = "load";

    @Test
    void concurrentBulksAndSearches() throws Exception {
        double minutes = Double.parseDouble(System.getProperty("bench.minutes", "3"));
        int bulkers = Integer.getInteger("bench.bulkers", 2);
        int searchers = Integer.getInteger("bench.searchers", 2);
        String pid = System.getProperty("bench.node.pid", "");
        int idSpace = Integer.getInteger("bench.ids", 0);
        Node.put("/_ingest/pipeline/load-embed", "{\"processors\": [{\"embed\": {\"model\": \"bge-small-en-v1.5\", \"field_map\": {\"body\": \"vec\"}}}]}");
        Node.delete("/" + INDEX);
        Node.put("/" + INDEX, """
            {"settings": {"index.knn": true, "number_of_shards": 1, "number_of_replicas": 0, "default_pipeline": "load-embed"},
             "mappings": {"_meta": {"embedder": {"fields": {"vec": {"model": "bge-small-en-v1.5"}}}},
                          "properties": {"vec": {"type": "knn_vector", "dimension": 384,
                                         "method": {"name": "hnsw", "engine": "lucene", "space_type": "cosinesimil"}}}}}""");
        Map<String, Integer> bulkItems = Collections.synchronizedMap(new TreeMap<>());
        Map<Integer, Integer> searches = Collections.synchronizedMap(new TreeMap<>());
        List<Double> searchMs = Collections.synchronizedList(new ArrayList<>());
        List<String> rss = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger nextId = new AtomicInteger();
        AtomicInteger acknowledged = new AtomicInteger();
        BitSet acknowledgedIds = new BitSet();
        AtomicBoolean running = new AtomicBoolean(true);
        List<Thread> threads = new ArrayList<>();
        for (int b = 0; b < bulkers; b++) {
            threads.add(new Thread(() -> {
                while (running.get()) {
                    StringBuilder bulk = new StringBuilder();
                    for (int i = 0; i < 16; i++) {
                        int n = nextId.getAndIncrement();
                        int id = idSpace > 0 ? n % idSpace : n;
                        bulk.append("{\"index\":{\"_index\":\"" + INDEX + "\",\"_id\":\"" + id + "\"}}\n")
                            .append(Node.json(Map.of("body", "Load document " + n + " about topic " + (n % 97) + " and more words to embed"))).append('\n');
                    }
                    Node.Response r = Node.post("/_bulk", bulk.toString());
                    if (r.status() != 200) {
                        bulkItems.merge("bulk " + r.status(), 16, Integer::sum);
                        continue;
                    }
                    for (JsonElement item : r.object().getAsJsonArray("items")) {
                        JsonObject index = item.getAsJsonObject().getAsJsonObject("index");
                        int status = index.get("status").getAsInt();
                        bulkItems.merge(String.valueOf(status), 1, Integer::sum);
                        if (status < 300) {
                            acknowledged.incrementAndGet();
                            synchronized (acknowledgedIds) {
                                acknowledgedIds.set(Integer.parseInt(index.get("_id").getAsString()));
                            }
                        }
                    }
                }
            }));
        }
        for (int s = 0; s < searchers; s++) {
            int seed = s;
            threads.add(new Thread(() -> {
                int i = seed;
                while (running.get()) {
                    String body = Node.json(Map.of("size", 10, "_source", false,
                        "query", Map.of("text_knn", Map.of("vec", Map.of("query_text", "topic " + (i++ % 97), "k", 10)))));
                    long start = System.nanoTime();
                    int status = Node.post("/" + INDEX + "/_search", body).status();
                    searchMs.add((System.nanoTime() - start) / 1e6);
                    searches.merge(status, 1, Integer::sum);
                }
            }));
        }
        threads.forEach(Thread::start);
        long end = System.currentTimeMillis() + (long) (minutes * 60_000);
        while (System.currentTimeMillis() < end) {
            rss.add(rssMb(pid));
            Thread.sleep(15_000);
        }
        running.set(false);
        for (Thread t : threads) {
            t.join();
        }
        rss.add(rssMb(pid));
        Node.post("/" + INDEX + "/_refresh", "{}");
        long count = Node.get("/" + INDEX + "/_count").object().get("count").getAsLong();
        double[] ms = searchMs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int distinct = acknowledgedIds.cardinality();
        String report = String.join("\n",
            "| load (" + minutes + " min, " + bulkers + " bulk threads × 16 docs, " + searchers + " text_knn threads"
                + (idSpace > 0 ? ", ids cycling over " + idSpace : "") + ") | value |",
            "| --- | --- |",
            "| bulk items by status | " + bulkItems + " |",
            "| index operations acknowledged | " + acknowledged.get() + " |",
            "| distinct ids acknowledged / documents in the index (lost) | " + distinct + " / " + count + " (" + (distinct - count) + ") |",
            "| searches by status | " + searches + " |",
            String.format("| search p50 / p99 ms | %.1f / %.1f |", ms[ms.length / 2], ms[(int) Math.ceil(ms.length * 0.99) - 1]),
            "| node resident memory every 15 s, MB | " + String.join(", ", rss) + " |") + "\n";
        System.out.println(report);
        Files.writeString(Path.of("target/bench-load.md"), report);
    }

    private static String rssMb(String pid) {
        if (pid.isEmpty()) {
            return "?";
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc", pid, "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return String.valueOf(Long.parseLong(line.replaceAll("\\D", "")) / 1024);
                }
            }
        } catch (IOException e) {
            return "?";
        }
        return "?";
    }
}
