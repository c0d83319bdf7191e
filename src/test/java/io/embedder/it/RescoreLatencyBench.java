package io.embedder.it;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Latency of MaxSim rescoring on the CISI index: BM25 alone against BM25 rescored over windows of 100 and 1,000 hits
 * (float and bit storage, query vectors precomputed so only rescoring is measured), and with the query text embedded
 * per search. Variants rotate query by query so all see the same machine noise. Not a test: run by
 * {@code scripts/bench.sh rescore}; rounds via -Dbench.rounds (default 3).
 */
class RescoreLatencyBench {

    @Test
    void rescoreWindows() throws IOException {
        Cisi cisi = Cisi.read();
        cisi.ensureIndexed();
        List<String> texts = new ArrayList<>(cisi.queries.values());
        List<String> vectors = new ArrayList<>();
        for (String text : texts) {
            Node.Response r = Node.embed(Cisi.MODEL, Map.of("texts", List.of(text), "task", "token_embed", "role", "query"));
            assertEquals(200, r.status(), String.valueOf(r.body()));
            vectors.add(r.object().getAsJsonArray("embeddings").get(0).toString());
        }
        Map<String, Variant> variants = new LinkedHashMap<>();
        variants.put("BM25 alone (`match`)", (text, v) -> bm25(text, ""));
        for (String type : List.of("float", "bit")) {
            for (int window : new int[] {100, 1000}) {
                variants.put("BM25 → MaxSim, " + type + ", window " + window + ", query vectors given",
                    (text, v) -> bm25(text, rescore(window, "tokens_" + type, "\"query_vectors\": " + v)));
            }
        }
        variants.put("BM25 → MaxSim, float, window 100, query text embedded per search",
            (text, v) -> bm25(text, rescore(100, "tokens_float", "\"query_text\": " + Node.json(text))));
        int rounds = Integer.getInteger("bench.rounds", 3);
        List<Variant> order = new ArrayList<>(variants.values());
        for (int i = 0; i < texts.size(); i++) {
            for (Variant variant : order) {
                time(variant.body(texts.get(i), vectors.get(i)));
            }
        }
        Map<Variant, List<Double>> ms = new LinkedHashMap<>();
        order.forEach(v -> ms.put(v, new ArrayList<>()));
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < texts.size(); i++) {
                for (int j = 0; j < order.size(); j++) {
                    Variant variant = order.get((i + r + j) % order.size());
                    ms.get(variant).add(time(variant.body(texts.get(i), vectors.get(i))));
                }
            }
        }
        double[] base = sorted(ms.get(order.get(0)));
        List<String> rows = new ArrayList<>(List.of("| search (top 10; " + base.length + " searches each: " + texts.size() + " CISI queries × "
            + rounds + " rounds) | p50 ms | p99 ms | p50 − BM25 ms |", "| --- | --- | --- | --- |"));
        variants.forEach((label, variant) -> {
            double[] a = sorted(ms.get(variant));
            rows.add(String.format("| %s | %.2f | %.2f | %.2f |", label, pct(a, 50), pct(a, 99), pct(a, 50) - pct(base, 50)));
        });
        String table = String.join("\n", rows) + "\n";
        System.out.println(table);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/bench-rescore.md"), table);
    }

    private interface Variant {
        String body(String text, String vectors);
    }

    private static String bm25(String text, String rescore) {
        return "{\"size\": 10, \"_source\": false, \"query\": " + Node.json(Map.of("match", Map.of("body", text))) + rescore + "}";
    }

    private static String rescore(int window, String field, String query) {
        return ", \"rescore\": {\"window_size\": " + window + ", \"late_interaction\": {\"field\": \"" + field + "\", " + query + "}}";
    }

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

    private static double pct(double[] sorted, int p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, rank - 1)];
    }
}
