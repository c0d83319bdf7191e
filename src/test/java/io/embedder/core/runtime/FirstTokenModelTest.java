package io.embedder.core.runtime;

import io.embedder.core.EmbedParams;
import io.embedder.core.Embedder;
import io.embedder.core.Embeddings;
import io.embedder.core.Task;
import io.embedder.core.TestData;
import io.embedder.core.stats.ModelStats;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The embedder on bge-small with the first-token graph: dense embeddings as the full graph gives them, token
 * embeddings from the full graph opened by the first token-level request, the memory estimate counting both graphs;
 * and the models and settings that keep one full graph.
 */
class FirstTokenModelTest {

    private static final String BGE = "bge-small-en-v1.5";
    private static final List<String> TEXTS = List.of("hello", "What is information retrieval?",
        "Library classification schemes organise documents by subject so that readers can browse related works together. ".repeat(12));

    private static Embedder embedder(boolean prune) {
        return new Embedder(TestData.modelsDir(), new LoadedModel.Limits(8, 4096, 1, Long.MAX_VALUE, 1).withPruneLastLayer(prune),
            Path.of("target/djl-cache"));
    }

    private static ModelStats.Residency residency(Embedder e, String model) {
        return e.stats().stream().filter(s -> s.model().equals(model)).findFirst().orElseThrow().residency();
    }

    private static EmbedParams tokenParams() {
        return new EmbedParams(TEXTS, Task.TOKEN_EMBED, null, null, null, Truncation.MODEL_DEFAULT);
    }

    @Test
    void denseEmbeddingsRunTheFirstTokenGraphAndTokenEmbeddingsOpenTheFullGraph() throws IOException {
        TestData.assumeModel(BGE);
        long onnxBytes = Files.size(TestData.modelsDir().resolve(BGE).resolve("model.onnx"));
        try (Embedder pruned = embedder(true); Embedder full = embedder(false)) {
            Embeddings first = pruned.embed(BGE, EmbedParams.embed(TEXTS, null));
            Embeddings all = full.embed(BGE, EmbedParams.embed(TEXTS, null));
            LoadedModel model = pruned.loadedModel(BGE).orElseThrow();
            assertTrue(model.firstTokenGraph());
            assertFalse(full.loadedModel(BGE).orElseThrow().firstTokenGraph());
            assertEquals(1, model.openGraphs());
            assertEquals(2 * onnxBytes, residency(pruned, BGE).estimatedNativeBytes());
            for (int i = 0; i < TEXTS.size(); i++) {
                float[] a = all.vectors().get(i);
                float[] b = first.vectors().get(i);
                assertTrue(FirstTokenGraphTest.maxDiff(a, b) <= 1e-6, "text " + i + ": max difference " + FirstTokenGraphTest.maxDiff(a, b));
            }
            Embeddings prunedTokens = pruned.embed(BGE, tokenParams());
            Embeddings fullTokens = full.embed(BGE, tokenParams());
            assertEquals(2, model.openGraphs());
            assertEquals(4 * onnxBytes, residency(pruned, BGE).estimatedNativeBytes());
            assertEquals(2 * onnxBytes, residency(full, BGE).estimatedNativeBytes());
            for (int i = 0; i < TEXTS.size(); i++) {
                assertArrayEquals(fullTokens.tokens().get(i), prunedTokens.tokens().get(i));
            }
            // the dense graph still serves dense requests once the full graph is open
            assertArrayEquals(first.vectors().get(2), pruned.embed(BGE, EmbedParams.embed(TEXTS, null)).vectors().get(2));
        }
    }

    @Test
    void meanPooledModelsAndTheSettingOffKeepOneFullGraph() {
        TestData.assumeModel("all-MiniLM-L6-v2");
        try (Embedder pruned = embedder(true); Embedder off = embedder(false)) {
            pruned.embed("all-MiniLM-L6-v2", EmbedParams.embed(TEXTS, null));
            pruned.embed("all-MiniLM-L6-v2", tokenParams());
            LoadedModel mean = pruned.loadedModel("all-MiniLM-L6-v2").orElseThrow();
            assertFalse(mean.firstTokenGraph());
            assertEquals(1, mean.openGraphs());
            off.embed(BGE, EmbedParams.embed(TEXTS, null));
            off.embed(BGE, tokenParams());
            LoadedModel bge = off.loadedModel(BGE).orElseThrow();
            assertFalse(bge.firstTokenGraph());
            assertEquals(1, bge.openGraphs());
        }
    }
}
