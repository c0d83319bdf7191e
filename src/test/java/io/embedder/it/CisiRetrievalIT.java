package io.embedder.it;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Retrieval quality on CISI through the real node, over its 76 judged queries: BM25 ({@code match}), {@code text_knn}
 * with bge-small over vectors from the {@code embed} ingest pipeline, and their reciprocal-rank fusion. Prints the table (also written to target/cisi-results.md) and
 * checks each figure within 0.01 of the independent implementation's (../shared/data/README.md).
 */
class CisiRetrievalIT {

    private static final double TOLERANCE = 0.01;

    @Test
    void bm25DenseAndFusion() throws IOException {
        Cisi cisi = Cisi.read();
        assertEquals(1460, cisi.documents.size());
        assertEquals(76, cisi.relevant.size());
        cisi.ensureIndexed();
        assertEquals(1460, Cisi.indexedCount(), "the whole collection went through the embed pipeline, no bulk item failed");

        Map<String, double[]> sums = new LinkedHashMap<>();
        for (String run : List.of("bm25", "text_knn", "rrf")) {
            sums.put(run, new double[2]);
        }
        for (Map.Entry<String, Set<String>> judged : cisi.relevant.entrySet()) {
            String text = cisi.queries.get(judged.getKey());
            List<String> bm25 = Cisi.search(Node.json(Map.of("match", Map.of("body", text))), 100);
            List<String> dense = Cisi.search(Node.json(Map.of("text_knn", Map.of("vec", Map.of("query_text", text, "k", 100)))), 100);
            Map<String, List<String>> runs = Map.of("bm25", bm25, "text_knn", dense, "rrf", Retrieval.rrf(List.of(bm25, dense), 60));
            runs.forEach((run, ranking) -> {
                sums.get(run)[0] += Retrieval.ndcg(ranking, judged.getValue(), 10);
                sums.get(run)[1] += Retrieval.recall(ranking, judged.getValue(), 100);
            });
        }
        int n = cisi.relevant.size();
        Map<String, double[]> reference = Map.of("bm25", new double[] {0.3423, 0.4106}, "text_knn", new double[] {0.3995, 0.4521},
            "rrf", new double[] {0.4117, 0.4922});
        Map<String, String> label = Map.of("bm25", "BM25 (`match`, standard analyzer + English stopwords)",
            "text_knn", "`text_knn`, bge-small-en-v1.5 (CLS + L2, query as is)", "rrf", "reciprocal-rank fusion (k 60) of the two");
        List<String> table = new ArrayList<>(List.of("| run | nDCG@10 | recall@100 | reference nDCG@10 | reference recall@100 |",
            "| --- | --- | --- | --- | --- |"));
        List<Runnable> checks = new ArrayList<>();
        sums.forEach((run, s) -> {
            double ndcg = s[0] / n, recall = s[1] / n;
            double[] ref = reference.get(run);
            table.add(String.format("| %s | %.4f | %.4f | %.4f | %.4f |", label.get(run), ndcg, recall, ref[0], ref[1]));
            checks.add(() -> assertEquals(ref[0], ndcg, TOLERANCE, run + " nDCG@10"));
            checks.add(() -> assertEquals(ref[1], recall, TOLERANCE, run + " recall@100"));
        });
        String result = String.join("\n", table) + "\n";
        System.out.println("CISI, " + n + " judged queries, through the node:\n" + result);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/cisi-results.md"), result);
        checks.forEach(Runnable::run);
    }
}
