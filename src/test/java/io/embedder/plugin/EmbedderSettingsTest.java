package io.embedder.plugin;

import io.embedder.core.runtime.Fusion;
import org.junit.jupiter.api.Test;
import org.opensearch.common.settings.Settings;

import java.util.EnumSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The graph settings map to the limits: the fusions each on by default and off on its own, unpadded graphs on by default. */
class EmbedderSettingsTest {

    @Test
    void eachFusionSettingTurnsItsFusionOff() {
        assertEquals(EnumSet.allOf(Fusion.class), EmbedderSettings.limits(Settings.EMPTY).fusions(), "all on by default");
        assertEquals(Set.of(Fusion.GELU, Fusion.MATMUL_SCALE),
            EmbedderSettings.limits(Settings.builder().put("embedder.inference.fuse_layer_norm", false).build()).fusions());
        assertEquals(Set.of(Fusion.LAYER_NORM, Fusion.MATMUL_SCALE),
            EmbedderSettings.limits(Settings.builder().put("embedder.inference.fuse_gelu", false).build()).fusions());
        assertEquals(Set.of(), EmbedderSettings.limits(Settings.builder().put("embedder.inference.fuse_gelu", false)
            .put("embedder.inference.fuse_layer_norm", false).put("embedder.inference.fuse_matmul_scale", false).build()).fusions());
    }

    @Test
    void unpaddedGraphsAreOnByDefault() {
        assertEquals(true, EmbedderSettings.limits(Settings.EMPTY).unpad());
        assertEquals(false, EmbedderSettings.limits(Settings.builder().put("embedder.inference.unpad", false).build()).unpad());
    }
}
