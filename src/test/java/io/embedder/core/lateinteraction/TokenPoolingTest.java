package io.embedder.core.lateinteraction;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenPoolingTest {

    private static float[] angle(double degrees) {
        return new float[] {(float) Math.cos(Math.toRadians(degrees)), (float) Math.sin(Math.toRadians(degrees))};
    }

    /**
     * By hand: unit vectors at 0°, 10°, 80°, 90° are two tight pairs; factor 2 → 2 clusters, {0°, 10°} and {80°, 90°};
     * their means, normalized again, point at 5° and 85°.
     */
    @Test
    void twoTightPairs() {
        float[][] pooled = TokenPooling.pool(new float[][] {angle(0), angle(80), angle(10), angle(90)}, 2, 0, true);
        assertEquals(2, pooled.length);
        assertArrayEquals(angle(5), pooled[0], 1e-6f);
        assertArrayEquals(angle(85), pooled[1], 1e-6f);
        // without normalization the mean of (1, 0) and (cos 10°, sin 10°) is ((1 + cos 10°) / 2, sin 10° / 2)
        float[][] raw = TokenPooling.pool(new float[][] {angle(0), angle(80), angle(10), angle(90)}, 2, 0, false);
        assertArrayEquals(new float[] {(float) ((1 + Math.cos(Math.toRadians(10))) / 2), (float) (Math.sin(Math.toRadians(10)) / 2)}, raw[0], 1e-7f);
    }

    /**
     * By hand, the Ward update: at 0°, 20°, 60°, 180° the distances 1 − cos are 0.0603 (0°, 20°), 0.2340 (20°, 60°),
     * 0.5 (0°, 60°), 1.5 (60°, 180°); {0°, 20°} merges first, then d({0°, 20°}, 60°) = √((2·0.5² + 2·0.2340² − 0.0603²) / 3)
     * = 0.4494 is below d(60°, 180°) = 1.5 and d({0°, 20°}, 180°) = 2.2746: two clusters are {0°, 20°, 60°} and {180°}.
     */
    @Test
    void wardUpdateByHand() {
        assertArrayEquals(new int[] {0, 0, 0, 1}, TokenPooling.wardLabels(new float[][] {angle(0), angle(20), angle(60), angle(180)}, 2));
        assertArrayEquals(new int[] {0, 0, 1, 2}, TokenPooling.wardLabels(new float[][] {angle(0), angle(20), angle(60), angle(180)}, 3));
    }

    /** The leading [CLS] stays out of pooling (PyLate's protected token); factor 1 or nothing to merge: unchanged. */
    @Test
    void protectedTokensAndNoOps() {
        float[][] v = {angle(45), angle(0), angle(10), angle(80), angle(90)};
        float[][] pooled = TokenPooling.pool(v, 2, 1, true);
        assertEquals(3, pooled.length);
        assertSame(v[0], pooled[0]);
        assertArrayEquals(angle(5), pooled[1], 1e-6f);
        assertArrayEquals(angle(85), pooled[2], 1e-6f);
        assertSame(v, TokenPooling.pool(v, 1, 0, true));
        float[][] single = {angle(3)};
        assertSame(single, TokenPooling.pool(single, 4, 0, true));
        assertSame(v, TokenPooling.pool(v, 4, 4, true)); // one vector to pool: nothing to merge
        assertEquals(1, TokenPooling.pool(v, 64, 0, true).length); // max(1, floor(5 / 64)) clusters
    }

    /**
     * SciPy's answer (what PyLate runs: linkage(1 − cos, "ward") then fcluster(maxclust)) on seeded random token vectors
     * with near-duplicates, from tools/pooling-oracle/ward_oracle.py: the same partition and the same cluster means.
     */
    @Test
    void matchesScipy() throws IOException {
        JsonObject oracle;
        try (InputStream in = getClass().getResourceAsStream("/pooling/ward-scipy.json")) {
            oracle = JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
        }
        for (JsonElement c : oracle.getAsJsonArray("cases")) {
            JsonObject o = c.getAsJsonObject();
            float[][] vectors = matrix(o.getAsJsonArray("vectors"));
            int clusters = o.get("clusters").getAsInt();
            int[] labels = TokenPooling.wardLabels(vectors, clusters);
            JsonArray expected = o.getAsJsonArray("labels");
            // same partition: a one-to-one map between our labels and SciPy's
            Map<Integer, Integer> ourToTheirs = new HashMap<>();
            Map<Integer, Integer> theirsToOur = new HashMap<>();
            for (int i = 0; i < vectors.length; i++) {
                int theirs = expected.get(i).getAsInt();
                int ours = labels[i];
                assertEquals(theirs, (int) ourToTheirs.computeIfAbsent(ours, k -> theirs), "case with " + vectors.length + " vectors, vector " + i);
                assertEquals(ours, (int) theirsToOur.computeIfAbsent(theirs, k -> ours), "case with " + vectors.length + " vectors, vector " + i);
            }
            float[][] pooled = TokenPooling.pool(vectors, o.get("factor").getAsInt(), 0, false);
            float[][] means = matrix(o.getAsJsonArray("means")); // SciPy's clusters 1, 2, ... in order
            assertEquals(means.length, pooled.length);
            for (int ours = 0; ours < pooled.length; ours++) {
                assertArrayEquals(means[ourToTheirs.get(ours) - 1], pooled[ours], 1e-6f);
            }
        }
    }

    /** Any input: max(1, floor(n / factor)) vectors, each a unit vector, each the normalized mean of some inputs. */
    @Property(tries = 100)
    void sizeAndNorm(@ForAll @IntRange(min = 1, max = 60) int n, @ForAll @IntRange(min = 1, max = 6) int factor, @ForAll long seed) {
        Random random = new Random(seed);
        float[][] v = new float[n][12];
        for (float[] x : v) {
            for (int k = 0; k < x.length; k++) {
                x[k] = (float) random.nextGaussian();
            }
        }
        float[][] pooled = TokenPooling.pool(v, factor, 0, true);
        assertEquals(factor == 1 || n == 1 ? n : Math.max(1, n / factor), pooled.length);
        if (pooled != v) {
            for (float[] p : pooled) {
                double norm = 0;
                for (float x : p) {
                    norm += x * x;
                }
                assertEquals(1, norm, 1e-5);
            }
        }
        int[] labels = TokenPooling.wardLabels(v, Math.max(1, n / factor));
        List<Integer> seen = new ArrayList<>();
        for (int l : labels) {
            if (!seen.contains(l)) {
                assertEquals(seen.size(), l, "labels in order of first appearance");
                seen.add(l);
            }
        }
        assertTrue(seen.size() == Math.max(1, n / factor));
    }

    private static float[][] matrix(JsonArray rows) {
        float[][] out = new float[rows.size()][];
        for (int i = 0; i < out.length; i++) {
            JsonArray row = rows.get(i).getAsJsonArray();
            out[i] = new float[row.size()];
            for (int k = 0; k < out[i].length; k++) {
                out[i][k] = row.get(k).getAsFloat();
            }
        }
        return out;
    }
}
