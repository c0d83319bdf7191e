package io.embedder.meta;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A field's entry in the mapping's {@code _meta.embedder.fields}: read, checked, resolved against the model's defaults. */
class FieldEmbeddingTest {

    private static Map<String, Object> meta(Object entry) {
        return Map.of("_meta", Map.of("embedder", Map.of("fields", Map.of("vec", entry))));
    }

    private static String error(Object entry) {
        return assertThrows(IllegalArgumentException.class, () -> FieldEmbedding.fromMapping("i", "vec", meta(entry))).getMessage();
    }

    @Test
    void readsModelDimensionsAndNormalize() {
        assertEquals(new FieldEmbedding("m", 64, null), FieldEmbedding.fromMapping("i", "vec", meta(Map.of("model", "m", "dimensions", 64))));
        assertEquals(new FieldEmbedding("m", null, false), FieldEmbedding.fromMapping("i", "vec", meta(Map.of("model", "m", "normalize", false))));
        assertNull(FieldEmbedding.fromMapping("i", "other", meta(Map.of("model", "m"))));
        assertNull(FieldEmbedding.fromMapping("i", "vec", Map.of("properties", Map.of())));
        assertNull(FieldEmbedding.fromMapping("i", "vec", null));
    }

    @Test
    void aMalformedEntryIsAnErrorNamingIndexFieldAndValue() {
        assertEquals("index [i] _meta.embedder.fields.vec must be an object with a string [model] (and optional integer [dimensions], "
            + "boolean [normalize]), got [bge]", error("bge"));
        assertEquals("index [i] _meta.embedder.fields.vec must be an object with a string [model] (and optional integer [dimensions], "
            + "boolean [normalize]), got [{dimensions=64}]", error(Map.of("dimensions", 64)));
        assertEquals("index [i] _meta.embedder.fields.vec has unknown key [dimension]; it takes [model, dimensions, normalize]",
            error(Map.of("model", "m", "dimension", 64)));
        assertEquals("index [i] _meta.embedder.fields.vec.dimensions must be a positive integer, got [0]", error(Map.of("model", "m", "dimensions", 0)));
        assertEquals("index [i] _meta.embedder.fields.vec.dimensions must be a positive integer, got [64.5]",
            error(Map.of("model", "m", "dimensions", 64.5)));
        assertEquals("index [i] _meta.embedder.fields.vec.normalize must be true or false, got [no]", error(Map.of("model", "m", "normalize", "no")));
    }

    @Test
    void resolvedMakesTheModelDefaultsExplicit() {
        FieldEmbedding full = new FieldEmbedding("m", null, null).resolved(384, true);
        assertEquals(new FieldEmbedding("m", 384, true), full);
        assertEquals(full, new FieldEmbedding("m", 384, true).resolved(384, true), "saying the default aloud is the same");
        assertEquals(new FieldEmbedding("m", 128, false), new FieldEmbedding("m", 128, false).resolved(384, true));
        assertEquals("model [m] dimensions [full] normalize [model default]", new FieldEmbedding("m", null).describe());
        assertEquals("model [m] dimensions [128] normalize [false]", new FieldEmbedding("m", 128, false).describe());
    }
}
