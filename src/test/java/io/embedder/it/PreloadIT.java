package io.embedder.it;

import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code embedder.preload_models}: the test node (scripts/test.sh sets it to bge-small-en-v1.5) loads and warms the model
 * up when it starts. A load on first use has no warm-up, so a warm-up time shows the preload (or a later explicit load).
 */
class PreloadIT {

    @Test
    void thePreloadedModelIsInMemoryAndWasWarmedUp() throws InterruptedException {
        JsonObject node = Node.localStats(Node.base());
        assumeTrue(node.has("preload_models") && node.getAsJsonArray("preload_models").toString().contains("bge-small-en-v1.5"),
            "the node does not preload bge-small-en-v1.5");
        JsonObject bge = node.getAsJsonObject("models").getAsJsonObject("bge-small-en-v1.5");
        for (int i = 0; i < 60 && bge.get("loads").getAsLong() == 0; i++) { // the preload runs in the background
            Thread.sleep(1000);
            bge = Node.localStats(Node.base()).getAsJsonObject("models").getAsJsonObject("bge-small-en-v1.5");
        }
        assertTrue(bge.get("loaded").getAsBoolean(), bge.toString());
        assertTrue(bge.get("last_warmup_ms").getAsLong() > 0, bge.toString());
        assertEquals(0, bge.get("load_failures").getAsLong());
    }
}
