package io.embedder.it;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import io.embedder.core.TestData;
import io.embedder.core.pooling.VectorOps;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * STS Benchmark dev split through the real node (role query): cosine Spearman must reproduce the independent
 * implementation's figures in ../shared/data/README.md within 0.002, and the cost of a wrong pooling shows.
 */
class StsBenchmarkIT {

    private static final double TOLERANCE = 0.002;
    private static final List<String> first = new ArrayList<>();
    private static final List<String> second = new ArrayList<>();
    private static double[] gold;

    @BeforeAll
    static void read() throws IOException {
        List<Double> scores = new ArrayList<>();
        for (String line : Files.readAllLines(TestData.shared("stsbenchmark/sts-dev.csv"), StandardCharsets.UTF_8)) {
            String[] f = line.split("\t");
            if (f.length < 7) {
                continue;
            }
            scores.add(Double.parseDouble(f[4]));
            first.add(f[5]);
            second.add(f[6]);
        }
        gold = scores.stream().mapToDouble(Double::doubleValue).toArray();
        assertEquals(1500, gold.length);
    }

    private static double spearman(List<float[]> a, List<float[]> b) {
        double[] cos = new double[a.size()];
        for (int i = 0; i < cos.length; i++) {
            cos[i] = VectorOps.cosine(a.get(i), b.get(i));
        }
        return Spearman.correlation(cos, gold);
    }

    @ParameterizedTest
    @CsvSource({"bge-small-en-v1.5, 0.8892", "all-MiniLM-L6-v2, 0.8672", "e5-small-v2, 0.8780"})
    void reproducesTheReferenceFigure(String model, double reference) {
        double rho = spearman(Node.embedAll(model, first, "query", 64), Node.embedAll(model, second, "query", 64));
        System.out.printf("STS dev %s: Spearman %.4f (reference %.4f)%n", model, rho, reference);
        assertEquals(reference, rho, TOLERANCE, model);
    }

    /**
     * The failure this plugin exists to prevent: CLS pooling on MiniLM, a mean-pooling model, gives no error, just
     * about 7 points less. The CLS vectors are taken from the same node's token states (task token_embed).
     */
    @Test
    void wrongPoolingCostsMiniLmSevenPoints() {
        List<float[]> clsA = firstTokens("all-MiniLM-L6-v2", first);
        List<float[]> clsB = firstTokens("all-MiniLM-L6-v2", second);
        double wrong = spearman(clsA, clsB);
        double right = spearman(Node.embedAll("all-MiniLM-L6-v2", first, "query", 64), Node.embedAll("all-MiniLM-L6-v2", second, "query", 64));
        System.out.printf("STS dev all-MiniLM-L6-v2: mean (its card) %.4f, CLS (wrong) %.4f%n", right, wrong);
        assertEquals(0.7973, wrong, TOLERANCE);
        assertTrue(right - wrong > 0.06, "mean must beat CLS by about 7 points: " + right + " vs " + wrong);
    }

    private static List<float[]> firstTokens(String model, List<String> texts) {
        List<float[]> out = new ArrayList<>();
        for (int i = 0; i < texts.size(); i += 64) {
            Map<String, Object> body = new HashMap<>();
            body.put("texts", texts.subList(i, Math.min(texts.size(), i + 64)));
            body.put("task", "token_embed");
            body.put("role", "query");
            body.put("drop_special_tokens", false); // the first token is [CLS]
            Node.Response r = Node.embed(model, body);
            assertEquals(200, r.status());
            for (JsonElement tokens : r.object().getAsJsonArray("embeddings")) {
                out.add(Node.floats(((JsonArray) tokens).get(0).getAsJsonArray()));
            }
        }
        return out;
    }
}
