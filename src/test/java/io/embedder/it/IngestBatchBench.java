package io.embedder.it;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Bulk indexing through the {@code embed} pipeline, one inference call per document ({@code batch_size} 1) against
 * one per batch of 32 documents (the default): the first -Dbench.docs CISI abstracts (default 480) in bulks of
 * -Dbench.bulk documents (default 96), sent one bulk at a time, into a fresh one-shard index per pass; the two
 * settings alternate for -Dbench.rounds rounds (default 3) after an untimed warm-up pass of each. Reports documents
 * per second per pass, medians and their ratio. Not a test: run by scripts/bench.sh ingest-batch.
 */
class IngestBatchBench {

    private static final String INDEX = "bench-ingest-batch";

    @Test
    void batchedAgainstOneDocumentPerCall() throws Exception {
        int docs = Integer.getInteger("bench.docs", 480);
        int bulkSize = Integer.getInteger("bench.bulk", 96);
        int rounds = Integer.getInteger("bench.rounds", 3);
        Cisi cisi = Cisi.read();
        List<String> texts = new ArrayList<>(cisi.documents.values()).subList(0, docs);
        Map<String, Integer> batchSizes = new LinkedHashMap<>();
        batchSizes.put("batch_size 1", 1);
        batchSizes.put("batch_size 32 (default)", 32);
        batchSizes.forEach((name, size) -> Ingest.createPipeline("bench-batch-" + size,
            "{\"embed\": {\"model\": \"bge-small-en-v1.5\", \"field_map\": {\"body\": \"vec\"}, \"batch_size\": " + size + "}}"));

        Map<String, List<Double>> rates = new LinkedHashMap<>();
        batchSizes.keySet().forEach(name -> rates.put(name, new ArrayList<>()));
        for (int round = 0; round <= rounds; round++) {
            for (Map.Entry<String, Integer> setting : batchSizes.entrySet()) {
                double rate = pass(texts, bulkSize, "bench-batch-" + setting.getValue());
                if (round > 0) {
                    rates.get(setting.getKey()).add(rate);
                }
            }
        }
        Node.delete("/" + INDEX);

        List<String> lines = new ArrayList<>(List.of("| pipeline (" + docs + " CISI abstracts, bulks of " + bulkSize + ") | docs/s per pass | median docs/s |",
            "| --- | --- | --- |"));
        Map<String, Double> medians = new LinkedHashMap<>();
        rates.forEach((name, r) -> {
            double median = median(r);
            medians.put(name, median);
            lines.add(String.format("| %s | %s | %.1f |", name, String.join(", ", r.stream().map(x -> String.format("%.1f", x)).toList()), median));
        });
        List<Double> m = new ArrayList<>(medians.values());
        lines.add(String.format("| ratio batched / one per call | | %.2f× |", m.get(1) / m.get(0)));
        String report = String.join("\n", lines) + "\n";
        System.out.println(report);
        Files.writeString(Path.of("target/bench-ingest-batch.md"), report);
    }

    /** Indexes the texts into a fresh index through {@code pipeline}; documents per second, every item must succeed. */
    private static double pass(List<String> texts, int bulkSize, String pipeline) {
        Ingest.createIndex(INDEX, "\"number_of_shards\": 1", "{\"vec\": " + Ingest.KNN_384 + "}");
        long start = System.nanoTime();
        for (int from = 0; from < texts.size(); from += bulkSize) {
            StringBuilder bulk = new StringBuilder();
            for (int i = from; i < Math.min(texts.size(), from + bulkSize); i++) {
                bulk.append("{\"index\":{\"_index\":\"" + INDEX + "\",\"_id\":\"" + i + "\"}}\n").append(Node.json(Map.of("body", texts.get(i)))).append('\n');
            }
            Node.Response r = Node.post("/_bulk?pipeline=" + pipeline, bulk.toString());
            if (r.status() != 200 || r.object().get("errors").getAsBoolean()) {
                throw new AssertionError("bulk failed: " + r.body().toString().substring(0, 500));
            }
        }
        return texts.size() / ((System.nanoTime() - start) / 1e9);
    }

    private static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
