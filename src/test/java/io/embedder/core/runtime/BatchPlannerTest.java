package io.embedder.core.runtime;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BatchPlannerTest {

    @Test
    void sortsByLengthAndCutsByBudget() {
        // lengths by index: 0→10, 1→3, 2→7, 3→3, 4→50; budget 20 tokens, at most 3 texts
        List<int[]> batches = BatchPlanner.plan(new int[] {10, 3, 7, 3, 50}, 3, 20);
        // sorted: 1(3) 3(3) 2(7) 0(10) 4(50): [1,3] then adding 2 makes 3×7=21 > 20; [2,0] = 2×10=20; [4] alone (over budget)
        assertEquals(3, batches.size());
        assertArrayEquals(new int[] {1, 3}, batches.get(0));
        assertArrayEquals(new int[] {2, 0}, batches.get(1));
        assertArrayEquals(new int[] {4}, batches.get(2));
    }

    @Property(tries = 300)
    void everyIndexOnceAndWithinLimits(@ForAll @Size(min = 1, max = 60) List<@IntRange(min = 1, max = 600) Integer> lengthList,
                                       @ForAll @IntRange(min = 1, max = 40) int maxBatch,
                                       @ForAll @IntRange(min = 1, max = 4096) int budget) {
        int[] lengths = lengthList.stream().mapToInt(Integer::intValue).toArray();
        List<int[]> batches = BatchPlanner.plan(lengths, maxBatch, budget);
        int[] seen = new int[lengths.length];
        int previousMax = 0;
        for (int[] batch : batches) {
            int longest = Arrays.stream(batch).map(i -> lengths[i]).max().orElseThrow();
            assertTrue(batch.length <= maxBatch);
            assertTrue(batch.length == 1 || (long) batch.length * longest <= budget, "over budget");
            assertTrue(lengths[batch[0]] >= previousMax, "batches follow length order");
            previousMax = longest;
            for (int i : batch) {
                seen[i]++;
            }
        }
        assertTrue(Arrays.stream(seen).allMatch(c -> c == 1));
    }

    @Test
    void cutsWhereThePaddingCostsMoreThanAnotherRun() {
        // four texts of 2 tokens and two of 9, budget 60, at most 6: one batch of all would be 6 × 9 = 54 padded tokens
        // + 10 for the run = 64; [2, 2, 2, 2] and [9, 9] cost 4 × 2 + 10 + 2 × 9 + 10 = 46
        List<int[]> batches = BatchPlanner.plan(new int[] {9, 2, 2, 9, 2, 2}, 6, 60);
        assertEquals(2, batches.size());
        assertArrayEquals(new int[] {1, 2, 4, 5}, batches.get(0));
        assertArrayEquals(new int[] {0, 3}, batches.get(1));
        // texts of nearly one length share a run: 4 × 3 + 10 = 22 against 2 × (2 × 3 + 10) = 32
        assertEquals(1, BatchPlanner.plan(new int[] {3, 2, 3, 3}, 6, 60).size());
    }

    @Test
    void cheapPaddingKeepsTextsOfDifferentLengthsTogether() {
        // the same six texts through a graph where a padded position costs a tenth of a token: one batch costs
        // 26 tokens + 0.1 × (6 × 9 - 26) padding + 10 = 38.8, the two batches above 8 + 10 + 18 + 10 = 46
        List<int[]> batches = BatchPlanner.plan(new int[] {9, 2, 2, 9, 2, 2}, 6, 60, 0.1);
        assertEquals(1, batches.size());
        assertArrayEquals(new int[] {1, 2, 4, 5, 0, 3}, batches.get(0));
        // at half a token, padding costs 0.5 × 28 = 14 > 10: two batches again
        assertEquals(2, BatchPlanner.plan(new int[] {9, 2, 2, 9, 2, 2}, 6, 60, 0.5).size());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BatchPlanner.plan(new int[] {1}, 6, 60, 0));
        assertEquals("paddingCost must be in (0, 1], not 0.0", e.getMessage());
    }

    @Property(tries = 300)
    void noCutOfTheLengthOrderCostsLess(@ForAll @Size(min = 1, max = 9) List<@IntRange(min = 1, max = 80) Integer> lengthList,
                                        @ForAll @IntRange(min = 1, max = 6) int maxBatch,
                                        @ForAll @IntRange(min = 1, max = 300) int budget,
                                        @ForAll @IntRange(min = 1, max = 10) int paddingTenths) {
        int[] lengths = lengthList.stream().mapToInt(Integer::intValue).toArray();
        int[] sorted = Arrays.stream(lengths).sorted().toArray();
        double paddingCost = paddingTenths / 10.0;
        double best = Double.MAX_VALUE;
        // every cut of the sorted texts: bit k set = a batch ends after text k
        for (int cuts = 0; cuts < 1 << (sorted.length - 1); cuts++) {
            double cost = 0;
            int start = 0;
            for (int k = 0; k < sorted.length && cost < Double.MAX_VALUE; k++) {
                if (k == sorted.length - 1 || (cuts >> k & 1) == 1) {
                    int size = k + 1 - start;
                    boolean fits = size <= maxBatch && (size == 1 || (long) size * sorted[k] <= budget);
                    cost = fits ? cost + cost(Arrays.copyOfRange(sorted, start, k + 1), paddingCost) : Double.MAX_VALUE;
                    start = k + 1;
                }
            }
            best = Math.min(best, cost);
        }
        double planned = 0;
        for (int[] batch : BatchPlanner.plan(lengths, maxBatch, budget, paddingCost)) {
            planned += cost(Arrays.stream(batch).map(i -> lengths[i]).toArray(), paddingCost);
        }
        assertEquals(best, planned, 1e-6);
    }

    /** One batch's cost: its tokens, its padding at {@code paddingCost}, and the run. */
    private static double cost(int[] batchLengths, double paddingCost) {
        int tokens = Arrays.stream(batchLengths).sum();
        long padded = (long) batchLengths.length * Arrays.stream(batchLengths).max().orElseThrow();
        return tokens + paddingCost * (padded - tokens) + BatchPlanner.BATCH_COST_TOKENS;
    }

    @Test
    void containingGivesTheAnchorsBatchOfThePlan() {
        int[] lengths = {9, 2, 2, 9, 2, 2};
        assertArrayEquals(new int[] {0, 3}, BatchPlanner.containing(lengths, 3, 6, 60, 1.0));
        assertArrayEquals(new int[] {1, 2, 4, 5}, BatchPlanner.containing(lengths, 4, 6, 60, 1.0));
        // an anchor longer than the budget runs alone
        assertArrayEquals(new int[] {4}, BatchPlanner.containing(new int[] {10, 3, 11, 9, 40, 12}, 4, 4, 30, 1.0));
    }

    @Property(tries = 300)
    void containingHoldsTheAnchorOnceAndStaysWithinLimits(@ForAll @Size(min = 1, max = 60) List<@IntRange(min = 1, max = 600) Integer> lengthList,
                                                          @ForAll @IntRange(min = 0, max = 59) int anchorSeed,
                                                          @ForAll @IntRange(min = 1, max = 40) int maxBatch,
                                                          @ForAll @IntRange(min = 1, max = 4096) int budget) {
        int[] lengths = lengthList.stream().mapToInt(Integer::intValue).toArray();
        int anchor = anchorSeed % lengths.length;
        int[] batch = BatchPlanner.containing(lengths, anchor, maxBatch, budget, 1.0);
        assertEquals(1, Arrays.stream(batch).filter(i -> i == anchor).count());
        assertEquals(batch.length, Arrays.stream(batch).distinct().count());
        assertTrue(batch.length <= maxBatch);
        int longest = Arrays.stream(batch).map(i -> lengths[i]).max().orElseThrow();
        assertTrue(batch.length == 1 || (long) batch.length * longest <= budget, "over budget");
    }
}
