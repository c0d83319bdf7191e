package io.embedder.ingest;

import org.opensearch.cluster.metadata.IndexAbstraction;
import org.opensearch.cluster.metadata.IndexMetadata;
import org.opensearch.cluster.metadata.MappingMetadata;
import org.opensearch.cluster.metadata.Metadata;

import java.util.Map;
import java.util.function.Supplier;

/**
 * The {@code dimension} of a {@code knn_vector} field (k-NN plugin) as mapped in an index, read from the cluster
 * state this node has: the {@code embed} processor checks its vectors against it before embedding.
 */
final class KnnMappings {

    static final String KNN_VECTOR = "knn_vector";

    private final Supplier<Metadata> metadata;

    KnnMappings(Supplier<Metadata> metadata) {
        this.metadata = metadata;
    }

    /**
     * The mapped dimension of {@code field} (a dotted field name) in {@code index} (an index, an alias with a write
     * index, or a data stream), or null when the index does not exist yet or the field is not a {@code knn_vector}.
     */
    Integer dimension(String index, String field) {
        if (index == null) {
            return null;
        }
        IndexAbstraction found = metadata.get().getIndicesLookup().get(index);
        IndexMetadata write = found == null ? null : found.getWriteIndex();
        MappingMetadata mapping = write == null ? null : write.mapping();
        if (mapping == null) {
            return null;
        }
        Object properties = mapping.sourceAsMap().get("properties");
        Map<?, ?> fieldMapping = null;
        for (String name : FieldMapping.segments(field)) {
            Object child = properties instanceof Map<?, ?> p ? p.get(name) : null;
            if (!(child instanceof Map<?, ?> c)) {
                return null;
            }
            fieldMapping = c;
            properties = c.get("properties");
        }
        if (fieldMapping == null || !KNN_VECTOR.equals(fieldMapping.get("type"))) {
            return null;
        }
        Object dimension = fieldMapping.get("dimension");
        return dimension == null ? null : Integer.valueOf(dimension.toString());
    }
}
