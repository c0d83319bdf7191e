package io.embedder.it;

import com.google.gson.JsonElement;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Late interaction on CISI through the real node, over its 76 judged queries: bge-small token vectors stored as float,
 * byte and bit; MaxSim as a rescorer of BM25 and of {@code text_knn} (window 100) and as a query over all documents.
 * Prints the table and the storage per document (also written to target/cisi-late-interaction.md) and checks the
 * runs the independent implementation also measured (../shared/data/README.md) within 0.01.
 */
class CisiLateInteractionIT {

    private static final double TOLERANCE = 0.01;
    private static final int WINDOW = 100;

    private record Run(String label, String body, boolean recall, Double referenceNdcg, Double referenceRecall) {}

    private static String rescore(String field, String text) {
        return ", \"rescore\": {\"window_size\": " + WINDOW + ", \"late_interaction\": {\"field\": \"" + field + "\", \"query_text\": "
            + Node.json(text) + "}}";
    }

    private static List<Run> runs(String text) {
        String bm25 = "\"query\": " + Node.json(Map.of("match", Map.of("body", text)));
        String knn = "\"query\": " + Node.json(Map.of("text_knn", Map.of("vec", Map.of("query_text", text, "k", WINDOW))));
        return List.of(
            new Run("BM25", bm25, true, 0.3423, 0.4106),
            new Run("`text_knn` (dense)", knn, true, 0.3995, 0.4521),
            new Run("BM25 → MaxSim rescore, float", bm25 + rescore("tokens_float", text), false, 0.4373, null),
            new Run("BM25 → MaxSim rescore, byte", bm25 + rescore("tokens_byte", text), false, null, null),
            new Run("BM25 → MaxSim rescore, bit", bm25 + rescore("tokens_bit", text), false, null, null),
            new Run("`text_knn` → MaxSim rescore, float", knn + rescore("tokens_float", text), false, null, null),
            new Run("`text_knn` → MaxSim rescore, bit", knn + rescore("tokens_bit", text), false, null, null),
            new Run("`late_interaction` query (all documents), float",
                "\"query\": " + Node.json(Map.of("late_interaction", Map.of("tokens_float", Map.of("query_text", text)))), true, 0.4376, 0.4806),
            new Run("`late_interaction` query (all documents), bit",
                "\"query\": " + Node.json(Map.of("late_interaction", Map.of("tokens_bit", Map.of("query_text", text)))), true, 0.4376, null));
    }

    @Test
    void rescoringAndQueryQualityAndStorage() throws IOException {
        Cisi cisi = Cisi.read();
        cisi.ensureIndexed();
        Map<String, double[]> sums = new LinkedHashMap<>();
        Map<String, Run> byLabel = new LinkedHashMap<>();
        for (Map.Entry<String, Set<String>> judged : cisi.relevant.entrySet()) {
            for (Run run : runs(cisi.queries.get(judged.getKey()))) {
                byLabel.putIfAbsent(run.label(), run);
                List<String> ranking = Cisi.searchBody(run.body(), run.recall() ? 100 : 10);
                double[] s = sums.computeIfAbsent(run.label(), k -> new double[2]);
                s[0] += Retrieval.ndcg(ranking, judged.getValue(), 10);
                s[1] += run.recall() ? Retrieval.recall(ranking, judged.getValue(), 100) : 0;
            }
        }
        int n = cisi.relevant.size();
        List<String> table = new ArrayList<>(List.of("| run | nDCG@10 | recall@100 | reference nDCG@10 | reference recall@100 |",
            "| --- | --- | --- | --- | --- |"));
        List<Runnable> checks = new ArrayList<>();
        sums.forEach((label, s) -> {
            Run run = byLabel.get(label);
            double ndcg = s[0] / n, recall = s[1] / n;
            table.add(String.format("| %s | %.4f | %s | %s | %s |", label, ndcg, run.recall() ? String.format("%.4f", recall) : "—",
                run.referenceNdcg() == null ? "—" : run.referenceNdcg(), run.referenceRecall() == null ? "—" : run.referenceRecall()));
            if (run.referenceNdcg() != null) {
                checks.add(() -> assertEquals(run.referenceNdcg(), ndcg, TOLERANCE, label + " nDCG@10"));
            }
            if (run.referenceRecall() != null) {
                checks.add(() -> assertEquals(run.referenceRecall(), recall, TOLERANCE, label + " recall@100"));
            }
        });
        String storage = storage(cisi.documents.size());
        String result = String.join("\n", table) + "\n\n" + storage;
        System.out.println("CISI late interaction, " + n + " judged queries, window " + WINDOW + ", through the node:\n" + result);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/cisi-late-interaction.md"), result);
        checks.forEach(Runnable::run);
    }

    /** Vectors per document, read back from the stored field through explain, and the bytes each element type takes. */
    private static String storage(int documents) {
        Node.Response r = Node.post("/" + Cisi.INDEX + "/_search", "{\"size\": " + documents + ", \"_source\": false, \"explain\": true, "
            + "\"query\": {\"late_interaction\": {\"tokens_float\": {\"query_vectors\": [" + unitVector(384) + "]}}}}");
        assertEquals(200, r.status(), String.valueOf(r.body()));
        Pattern count = Pattern.compile("the document's (\\d+) float vectors");
        long vectors = 0;
        int docs = 0;
        for (JsonElement hit : r.object().getAsJsonObject("hits").getAsJsonArray("hits")) {
            Matcher m = count.matcher(hit.getAsJsonObject().getAsJsonObject("_explanation").toString());
            assertTrue(m.find(), hit.toString());
            vectors += Long.parseLong(m.group(1));
            docs++;
        }
        assertEquals(documents, docs);
        double perDoc = (double) vectors / docs;
        StringBuilder sb = new StringBuilder(String.format("Token vectors per document: %.1f (mean over %d documents, 384 dimensions).%n%n", perDoc, docs));
        sb.append("| element_type | bytes per vector | bytes per document (mean) | float / this |\n| --- | --- | --- | --- |\n");
        int[] perVector = {4 * 384, 4 + 384, 384 / 8};
        String[] names = {"float", "byte", "bit"};
        for (int i = 0; i < 3; i++) {
            double bytes = 4 + perDoc * perVector[i];
            sb.append(String.format("| %s | %d | %.0f | %.1f× |%n", names[i], perVector[i], bytes, (4 + perDoc * perVector[0]) / bytes));
        }
        return sb.toString();
    }

    private static String unitVector(int dims) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < dims; i++) {
            sb.append(i == 0 ? "1" : ",0");
        }
        return sb.append(']').toString();
    }
}
