package io.embedder.ingest;

import org.junit.jupiter.api.Test;
import org.opensearch.Version;
import org.opensearch.cluster.metadata.AliasMetadata;
import org.opensearch.cluster.metadata.IndexMetadata;
import org.opensearch.cluster.metadata.Metadata;
import org.opensearch.common.settings.Settings;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** A vector field's knn_vector dimension, read from an index's mapping: through aliases, objects and nested fields. */
class TargetMappingsTest {

    /** Cluster metadata with one index of the given mapping, and an alias {@code <index>-alias} whose write index it is. */
    static Metadata metadata(String index, String mapping) throws IOException {
        IndexMetadata im = IndexMetadata.builder(index)
            .settings(Settings.builder().put(IndexMetadata.SETTING_VERSION_CREATED, Version.CURRENT))
            .numberOfShards(1).numberOfReplicas(0).putMapping(mapping)
            .putAlias(AliasMetadata.builder(index + "-alias").writeIndex(true)).build();
        return Metadata.builder().put(im, false).build();
    }

    @Test
    void findsTheDimensionOfTopLevelObjectAndNestedFields() throws IOException {
        TargetMappings mappings = new TargetMappings(() -> {
            try {
                return metadata("docs", """
                    {"properties": {
                      "vec": {"type": "knn_vector", "dimension": 384},
                      "book": {"properties": {"title_vec": {"type": "knn_vector", "dimension": "256"}}},
                      "chunks": {"type": "nested", "properties": {"vec": {"type": "knn_vector", "dimension": 128}, "text": {"type": "text"}}},
                      "body": {"type": "text"}}}""");
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        });
        assertEquals(384, mappings.dimension("docs", "vec"));
        assertEquals(256, mappings.dimension("docs", "book.title_vec"));
        assertEquals(128, mappings.dimension("docs", "chunks.vec"));
        assertEquals(384, mappings.dimension("docs-alias", "vec"), "an alias resolves to its write index");
        assertNull(mappings.dimension("docs", "body"), "not a knn_vector");
        assertNull(mappings.dimension("docs", "chunks.text"));
        assertNull(mappings.dimension("docs", "unmapped"));
        assertNull(mappings.dimension("docs", "vec.deeper"));
        assertNull(mappings.dimension("not-created-yet", "vec"));
        assertNull(mappings.dimension(null, "vec"));
    }
}
