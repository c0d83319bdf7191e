package io.embedder.it;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Binary-relevance retrieval metrics and reciprocal-rank fusion. */
final class Retrieval {

    private Retrieval() {}

    /** nDCG@k with binary gains: DCG = Σ rel_i / log2(i + 1) over ranks i = 1..k, over the ideal DCG. */
    static double ndcg(List<String> ranking, Set<String> relevant, int k) {
        double dcg = 0;
        for (int i = 0; i < Math.min(k, ranking.size()); i++) {
            if (relevant.contains(ranking.get(i))) {
                dcg += 1 / log2(i + 2);
            }
        }
        double ideal = 0;
        for (int i = 0; i < Math.min(k, relevant.size()); i++) {
            ideal += 1 / log2(i + 2);
        }
        return ideal == 0 ? 0 : dcg / ideal;
    }

    static double recall(List<String> ranking, Set<String> relevant, int k) {
        long found = ranking.stream().limit(k).filter(relevant::contains).count();
        return relevant.isEmpty() ? 0 : (double) found / relevant.size();
    }

    /** Reciprocal-rank fusion: score(d) = Σ 1 / (c + rank), ranks from 1; ties broken by id for determinism. */
    static List<String> rrf(List<List<String>> rankings, int c) {
        Map<String, Double> score = new HashMap<>();
        for (List<String> ranking : rankings) {
            for (int i = 0; i < ranking.size(); i++) {
                score.merge(ranking.get(i), 1.0 / (c + i + 1), Double::sum);
            }
        }
        return score.entrySet().stream()
            .sorted(Map.Entry.<String, Double>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
            .map(Map.Entry::getKey).toList();
    }

    private static double log2(double x) {
        return Math.log(x) / Math.log(2);
    }
}
