package io.embedder.core.runtime;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Groups texts into batches: runs of the texts sorted by token length, each within {@code maxBatchSize} texts and
 * a token budget ({@code batch size × longest length}), chosen so that the ONNX runs cost the least in all. A text
 * longer than the budget gets a batch of its own.
 *
 * <p>The cost of a batch is its tokens, plus its padding ({@code size × longest} less its tokens) weighted by the
 * graph's padding cost (1 for a padded graph; {@link UnpaddedGraph#PADDING_COST} where only the attention pays for
 * it), plus {@link #BATCH_COST_TOKENS} for the run itself. Cutting the sorted texts greedily into batches as full as the budget allows pads a batch to its longest
 * text however far that is from the others: on CISI titles (11.4 tokens on average, 32 texts at a time, budget 256)
 * that ran 1.34 padded tokens per real token; the cheapest cut runs 1.08, in smaller batches.
 */
public final class BatchPlanner {

    /**
     * What one ONNX run costs beyond its tokens, in tokens: bge-small on one thread ran 17 tokens in 12.7 ms alone
     * and 0.50 ms per token in batches of 200 tokens or more (fixed cost per run and small matrix products: about 4 ms,
     * 8 tokens), measured 2026-12-04.
     */
    static final int BATCH_COST_TOKENS = 10;

    private BatchPlanner() {}

    /** {@link #plan(int[], int, int, double)} for a padded graph (padding costs what a token does). */
    public static List<int[]> plan(int[] lengths, int maxBatchSize, int tokenBudget) {
        return plan(lengths, maxBatchSize, tokenBudget, 1.0);
    }

    /**
     * Returns batches of indices into {@code lengths}, shortest texts first, each in length order; together they hold
     * every index once, and their total cost ({@code Σ tokens + paddingCost × padding + BATCH_COST_TOKENS}) is the
     * least of all cuts of the length order into batches within the limits.
     *
     * @param paddingCost what a padded position costs, relative to a token: in (0, 1]
     */
    public static List<int[]> plan(int[] lengths, int maxBatchSize, int tokenBudget, double paddingCost) {
        if (maxBatchSize < 1 || tokenBudget < 1) {
            throw new IllegalArgumentException("maxBatchSize and tokenBudget must be positive");
        }
        if (!(paddingCost > 0 && paddingCost <= 1)) {
            throw new IllegalArgumentException("paddingCost must be in (0, 1], not " + paddingCost);
        }
        int[] order = IntStream.range(0, lengths.length).boxed()
            .sorted(Comparator.<Integer>comparingInt(i -> lengths[i]).thenComparingInt(i -> i)).mapToInt(Integer::intValue).toArray();
        int n = order.length;
        long[] prefix = new long[n + 1];
        for (int j = 1; j <= n; j++) {
            prefix[j] = prefix[j - 1] + lengths[order[j - 1]];
        }
        // cheapest[j]: least cost of the first j sorted texts; start[j]: where the last batch of that cut starts
        double[] cheapest = new double[n + 1];
        int[] start = new int[n + 1];
        for (int j = 1; j <= n; j++) {
            long width = lengths[order[j - 1]];
            cheapest[j] = Double.MAX_VALUE;
            for (int i = j - 1; i >= Math.max(0, j - maxBatchSize); i--) {
                int size = j - i;
                if (size > 1 && size * width > tokenBudget) {
                    break; // a longer batch with the same longest text is over the budget too
                }
                long tokens = prefix[j] - prefix[i];
                double cost = cheapest[i] + tokens + paddingCost * (size * width - tokens) + BATCH_COST_TOKENS;
                if (cost < cheapest[j]) {
                    cheapest[j] = cost;
                    start[j] = i;
                }
            }
        }
        List<int[]> batches = new ArrayList<>();
        for (int j = n; j > 0; j = start[j]) {
            batches.add(Arrays.copyOfRange(order, start[j], j));
        }
        java.util.Collections.reverse(batches);
        return batches;
    }

    /**
     * The batch of {@link #plan} that holds {@code anchor}: for a text that must run now (the longest-waiting one)
     * among texts waiting to run. Indices into {@code lengths}, in length order.
     */
    public static int[] containing(int[] lengths, int anchor, int maxBatchSize, int tokenBudget, double paddingCost) {
        for (int[] batch : plan(lengths, maxBatchSize, tokenBudget, paddingCost)) {
            for (int i : batch) {
                if (i == anchor) {
                    return batch;
                }
            }
        }
        throw new IllegalArgumentException("anchor " + anchor + " is not an index of " + lengths.length + " lengths");
    }
}
