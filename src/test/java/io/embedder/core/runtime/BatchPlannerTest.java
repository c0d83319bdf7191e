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
    void aroundTakesTheAnchorAndTheNearestLengthsThatFit() {
        // lengths by index: 0→10 (anchor), 1→3, 2→11, 3→9, 4→40, 5→12; budget 40 tokens, at most 4 texts
        // by distance to 10: 2(11) and 3(9) tie at 1 (lower index first), then 5(12), 1(3), 4(40)
        // 2 → 2 × 11 = 22; 3 → 3 × 11 = 33; 5 → 4 × 12 = 48 > 40, skipped; 1 → 4 × 11 = 44 > 40, skipped; 4 → skipped
        assertArrayEquals(new int[] {0, 2, 3}, BatchPlanner.around(new int[] {10, 3, 11, 9, 40, 12}, 0, 4, 40));
        // an anchor longer than the budget runs alone
        assertArrayEquals(new int[] {4}, BatchPlanner.around(new int[] {10, 3, 11, 9, 40, 12}, 4, 4, 30));
        // ties in distance: the lower index (the one waiting longer) first
        assertArrayEquals(new int[] {1, 0}, BatchPlanner.around(new int[] {4, 5, 6}, 1, 2, 100));
    }

    @Property(tries = 300)
    void aroundHoldsTheAnchorOnceAndStaysWithinLimits(@ForAll @Size(min = 1, max = 60) List<@IntRange(min = 1, max = 600) Integer> lengthList,
                                                      @ForAll @IntRange(min = 0, max = 59) int anchorSeed,
                                                      @ForAll @IntRange(min = 1, max = 40) int maxBatch,
                                                      @ForAll @IntRange(min = 1, max = 4096) int budget) {
        int[] lengths = lengthList.stream().mapToInt(Integer::intValue).toArray();
        int anchor = anchorSeed % lengths.length;
        int[] batch = BatchPlanner.around(lengths, anchor, maxBatch, budget);
        assertEquals(anchor, batch[0]);
        assertEquals(batch.length, Arrays.stream(batch).distinct().count());
        assertTrue(batch.length <= maxBatch);
        int longest = Arrays.stream(batch).map(i -> lengths[i]).max().orElseThrow();
        assertTrue(batch.length == 1 || (long) batch.length * longest <= budget, "over budget");
    }
}
