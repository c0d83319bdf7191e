package io.embedder.core.lateinteraction;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Hierarchical token pooling, as PyLate's {@code pool_embeddings_hierarchical} (answerai-colbert's "token pooling"):
 * a document's token vectors are clustered by Ward linkage on the cosine distance {@code 1 − cos} into
 * {@code max(1, floor(n / factor))} clusters, and each cluster is replaced by the mean of its vectors. Near-duplicate
 * tokens merge first, so the document keeps about {@code 1/factor} of its vectors and loses little of its MaxSim.
 *
 * <p>The clustering is agglomerative: start from single vectors, repeatedly merge the two closest clusters, stop at the
 * target count. Distances after a merge follow the Lance–Williams update for Ward's method in SciPy's form
 * ({@code d(k, i∪j) = √(((n_k+n_i)·d(k,i)² + (n_k+n_j)·d(k,j)² − n_k·d(i,j)²) / (n_i+n_j+n_k))}, on the given
 * distances), which is what PyLate runs through {@code scipy.cluster.hierarchy.linkage(method="ward")}. The merges are
 * found by the nearest-neighbour-chain algorithm (O(n²) time and memory; Ward's linkage is reducible, so it finds the
 * same merges as the greedy search), then applied in order of height until the target count is reached.
 */
public final class TokenPooling {

    private TokenPooling() {}

    /**
     * Pools {@code vectors[protectedCount ..]}; the first {@code protectedCount} vectors are kept as they are, first
     * (PyLate keeps a document's leading [CLS] out of pooling). Each pooled vector is the mean of its cluster,
     * L2-normalized again when {@code normalize}; clusters come in the order of their first vector.
     *
     * @param factor at least 1; 1 returns {@code vectors} unchanged
     */
    public static float[][] pool(float[][] vectors, int factor, int protectedCount, boolean normalize) {
        int m = vectors.length - protectedCount;
        int clusters = Math.max(1, m / factor);
        if (factor <= 1 || m <= 1 || clusters >= m) {
            return vectors;
        }
        float[][] toPool = Arrays.copyOfRange(vectors, protectedCount, vectors.length);
        int[] labels = wardLabels(toPool, clusters);
        int dims = vectors[0].length;
        double[][] sums = new double[clusters][dims];
        int[] counts = new int[clusters];
        for (int i = 0; i < m; i++) {
            for (int k = 0; k < dims; k++) {
                sums[labels[i]][k] += toPool[i][k];
            }
            counts[labels[i]]++;
        }
        float[][] out = new float[protectedCount + clusters][];
        System.arraycopy(vectors, 0, out, 0, protectedCount);
        for (int c = 0; c < clusters; c++) {
            float[] mean = new float[dims];
            double norm = 0;
            for (int k = 0; k < dims; k++) {
                double v = sums[c][k] / counts[c];
                mean[k] = (float) v;
                norm += v * v;
            }
            if (normalize) {
                double scale = 1 / Math.max(Math.sqrt(norm), 1e-12);
                for (int k = 0; k < dims; k++) {
                    mean[k] = (float) (sums[c][k] / counts[c] * scale);
                }
            }
            out[protectedCount + c] = mean;
        }
        return out;
    }

    /**
     * The cluster of each vector when Ward clustering on {@code 1 − cos} stops at {@code clusters} clusters; labels are
     * 0 .. clusters−1 in the order of each cluster's first vector.
     */
    static int[] wardLabels(float[][] vectors, int clusters) {
        int n = vectors.length;
        double[][] d = cosineDistances(vectors);
        int[] size = new int[n];
        Arrays.fill(size, 1);
        boolean[] active = new boolean[n];
        Arrays.fill(active, true);
        List<double[]> merges = new ArrayList<>(n - 1); // {kept point, absorbed point, height}
        int[] chain = new int[n];
        int chainLength = 0;
        for (int remaining = n; remaining > 1; remaining--) {
            if (chainLength == 0) {
                chain[chainLength++] = first(active);
            }
            int x;
            int y;
            while (true) {
                x = chain[chainLength - 1];
                int previous = chainLength > 1 ? chain[chainLength - 2] : -1;
                y = previous;
                double best = previous >= 0 ? d[x][previous] : Double.POSITIVE_INFINITY;
                for (int i = 0; i < n; i++) {
                    if (active[i] && i != x && d[x][i] < best) { // ties keep the previous link: the chain never cycles
                        best = d[x][i];
                        y = i;
                    }
                }
                if (y == previous) {
                    break; // x and y are reciprocal nearest neighbours: merge them
                }
                chain[chainLength++] = y;
            }
            chainLength -= 2;
            double dxy = d[x][y];
            int keep = Math.min(x, y);
            int gone = Math.max(x, y);
            for (int k = 0; k < n; k++) {
                if (active[k] && k != x && k != y) {
                    double t = size[x] + size[y] + size[k];
                    double v = ((size[k] + size[x]) * d[k][x] * d[k][x] + (size[k] + size[y]) * d[k][y] * d[k][y] - size[k] * dxy * dxy) / t;
                    d[k][keep] = d[keep][k] = Math.sqrt(Math.max(0, v));
                }
            }
            size[keep] = size[x] + size[y];
            active[gone] = false;
            merges.add(new double[] {keep, gone, dxy});
        }
        // heights are monotone for Ward: a stable sort keeps each merge after the merges that built its clusters
        merges.sort((a, b) -> Double.compare(a[2], b[2]));
        int[] parent = new int[n];
        for (int i = 0; i < n; i++) {
            parent[i] = i;
        }
        for (int i = 0; i < n - clusters; i++) {
            parent[find(parent, (int) merges.get(i)[1])] = find(parent, (int) merges.get(i)[0]);
        }
        int[] labels = new int[n];
        int[] labelOfRoot = new int[n];
        Arrays.fill(labelOfRoot, -1);
        int next = 0;
        for (int i = 0; i < n; i++) {
            int root = find(parent, i);
            if (labelOfRoot[root] < 0) {
                labelOfRoot[root] = next++;
            }
            labels[i] = labelOfRoot[root];
        }
        return labels;
    }

    /** 1 − cosine similarity, in double, of every pair (a zero vector has similarity 0 with everything). */
    static double[][] cosineDistances(float[][] vectors) {
        int n = vectors.length;
        double[] norms = new double[n];
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (float x : vectors[i]) {
                s += (double) x * x;
            }
            norms[i] = Math.max(Math.sqrt(s), 1e-12);
        }
        double[][] d = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                double dot = 0;
                for (int k = 0; k < vectors[i].length; k++) {
                    dot += (double) vectors[i][k] * vectors[j][k];
                }
                d[i][j] = d[j][i] = 1 - dot / (norms[i] * norms[j]);
            }
        }
        return d;
    }

    private static int first(boolean[] active) {
        for (int i = 0; i < active.length; i++) {
            if (active[i]) {
                return i;
            }
        }
        throw new IllegalStateException("no active cluster");
    }

    private static int find(int[] parent, int i) {
        while (parent[i] != i) {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        return i;
    }
}
