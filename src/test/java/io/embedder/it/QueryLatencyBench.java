package io.embedder.it;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Query latency on the CISI index: {@code text_knn} (embeds the text on the coordinator) against {@code knn} given the
 * precomputed vector of the same text, interleaved query by query so both see the same machine noise. The difference
 * is the cost of embedding the query. Not a test: run by scripts/bench.sh; rounds via -Dbench.rounds (default 3).
 */
class QueryLatencyBench {

    @Test
    void textKnnAgainstPrecomputedKnn() throws IOException {
        Cisi cisi = Cisi.read();
        cisi.ensureIndexed();
        List<String> texts = new ArrayList<>(cisi.queries.values());
        List<float[]> vectors = Node.embedAll(Cisi.MODEL, texts, "query", 32);
        int rounds = Integer.getInteger("bench.rounds", 3);
        int k = 10;
        // warm-up: one pass of each
        for (int i = 0; i < texts.size(); i++) {
            time(knn(vectors.get(i), k));
            time(textKnn(texts.get(i), k));
        }
        List<Double> knnMs = new ArrayList<>();
        List<Double> textKnnMs = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < texts.size(); i++) {
                boolean textFirst = (i + r) % 2 == 0;
                if (textFirst) {
                    textKnnMs.add(time(textKnn(texts.get(i), k)));
                }
                knnMs.add(time(knn(vectors.get(i), k)));
                if (!textFirst) {
                    textKnnMs.add(time(textKnn(texts.get(i), k)));
                }
            }
        }
        double[] a = sorted(knnMs), b = sorted(textKnnMs);
        String table = String.join("\n",
            "| query (k " + k + ", " + a.length + " searches each, " + texts.size() + " CISI queries × " + rounds + " rounds) | p50 ms | p99 ms |",
            "| --- | --- | --- |",
            String.format("| `knn`, precomputed vector | %.2f | %.2f |", pct(a, 50), pct(a, 99)),
            String.format("| `text_knn`, embeds the text | %.2f | %.2f |", pct(b, 50), pct(b, 99)),
            String.format("| difference (cost of embedding) | %.2f | %.2f |", pct(b, 50) - pct(a, 50), pct(b, 99) - pct(a, 99)),
            String.format("| ratio text_knn / knn | %.2f× | %.2f× |", pct(b, 50) / pct(a, 50), pct(b, 99) / pct(a, 99))) + "\n";
        System.out.println(table);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/bench-query-latency.md"), table);
    }

    private static String knn(float[] vector, int k) {
        return Node.json(Map.of("size", k, "_source", false, "query", Map.of("knn", Map.of("vec", Map.of("vector", vector, "k", k)))));
    }

    private static String textKnn(String text, int k) {
        return Node.json(Map.of("size", k, "_source", false, "query", Map.of("text_knn", Map.of("vec", Map.of("query_text", text, "k", k)))));
    }

    /** Wall time of one search as the client sees it, in milliseconds. */
    private static double time(String body) {
        long start = System.nanoTime();
        Node.Response r = Node.post("/" + Cisi.INDEX + "/_search", body);
        double ms = (System.nanoTime() - start) / 1e6;
        assertEquals(200, r.status(), String.valueOf(r.body()));
        return ms;
    }

    private static double[] sorted(List<Double> values) {
        double[] a = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(a);
        return a;
    }

    /** Nearest-rank percentile. */
    private static double pct(double[] sorted, int p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, rank - 1)];
    }
}
