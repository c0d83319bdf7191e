package io.embedder.core.runtime;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Groups texts into batches: sorted by token length so each batch pads little, and cut so that
 * {@code batch size × longest length} stays within a token budget and the size within a maximum.
 * A text longer than the budget gets a batch of its own.
 */
public final class BatchPlanner {

    private BatchPlanner() {}

    /** Returns batches of indices into {@code lengths}; together they hold every index once. */
    public static List<int[]> plan(int[] lengths, int maxBatchSize, int tokenBudget) {
        if (maxBatchSize < 1 || tokenBudget < 1) {
            throw new IllegalArgumentException("maxBatchSize and tokenBudget must be positive");
        }
        int[] order = IntStream.range(0, lengths.length).boxed()
            .sorted(Comparator.comparingInt(i -> lengths[i])).mapToInt(Integer::intValue).toArray();
        List<int[]> batches = new ArrayList<>();
        int start = 0;
        while (start < order.length) {
            int end = start + 1;
            // sorted ascending: the newest member is the longest, so it sets the padded width
            while (end < order.length && end - start < maxBatchSize && (long) (end - start + 1) * lengths[order[end]] <= tokenBudget) {
                end++;
            }
            int[] batch = new int[end - start];
            System.arraycopy(order, start, batch, 0, batch.length);
            batches.add(batch);
            start = end;
        }
        return batches;
    }

    /**
     * The batch for one text that must run now, {@code anchor} (the longest-waiting one), among texts waiting to run:
     * it, then the others in order of nearest length (ties: lower index first), each taken if the batch still fits
     * {@code tokenBudget} padded tokens and {@code maxBatchSize} texts. Length-near texts pad little. Returns indices
     * into {@code lengths}, {@code anchor} first.
     */
    public static int[] around(int[] lengths, int anchor, int maxBatchSize, int tokenBudget) {
        if (maxBatchSize < 1 || tokenBudget < 1) {
            throw new IllegalArgumentException("maxBatchSize and tokenBudget must be positive");
        }
        int target = lengths[anchor];
        int[] others = IntStream.range(0, lengths.length).filter(i -> i != anchor).boxed()
            .sorted(Comparator.<Integer>comparingInt(i -> Math.abs(lengths[i] - target)).thenComparingInt(i -> i))
            .mapToInt(Integer::intValue).toArray();
        int[] batch = new int[Math.min(maxBatchSize, lengths.length)];
        batch[0] = anchor;
        int size = 1;
        int longest = target;
        for (int i : others) {
            if (size == batch.length) {
                break;
            }
            int width = Math.max(longest, lengths[i]);
            if ((long) (size + 1) * width <= tokenBudget) {
                batch[size++] = i;
                longest = width;
            }
        }
        return java.util.Arrays.copyOf(batch, size);
    }
}
