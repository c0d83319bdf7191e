package io.embedder.it;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The first request to a model: after an unload, when it loads on first use, against after {@code _load} (load and
 * warm-up ahead of time), against a warm model; one short text, client-side wall time over loopback. Not a test: run
 * by scripts/bench.sh first-request; cycles via -Dbench.rounds (default 7).
 */
class FirstRequestBench {

    private static final String MODEL = "bge-small-en-v1.5";
    private static final String BODY = Node.json(Map.of("texts",
        List.of("Library classification schemes organise documents by subject so that readers can browse related works together.")));

    @Test
    void loadOnFirstUseAgainstLoadAhead() throws IOException {
        int rounds = Integer.getInteger("bench.rounds", 7);
        List<Double> onFirstUse = new ArrayList<>();
        List<Double> afterLoad = new ArrayList<>();
        List<Double> warm = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            lifecycle("_unload");
            onFirstUse.add(timeEmbed());
            lifecycle("_unload");
            lifecycle("_load");
            afterLoad.add(timeEmbed());
            warm.add(timeEmbed());
        }
        String table = String.format("""
            | first request of one short text (%d rounds) | median ms |
            | --- | --- |
            | model loaded on first use (after `_unload`) | %.1f |
            | after `_load` (load and warm-up ahead) | %.1f |
            | model warm (the request after) | %.1f |
            """, rounds, median(onFirstUse), median(afterLoad), median(warm));
        System.out.println(table);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/bench-first-request.md"), table);
    }

    private static void lifecycle(String action) {
        assertEquals(200, Node.post("/_plugins/_embedder/models/" + MODEL + "/" + action, "").status());
    }

    private static double timeEmbed() {
        long t = System.nanoTime();
        Node.Response r = Node.post("/_plugins/_embedder/models/" + MODEL + "/_embed", BODY);
        double ms = (System.nanoTime() - t) / 1e6;
        assertEquals(200, r.status(), String.valueOf(r.body()));
        return ms;
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }
}
