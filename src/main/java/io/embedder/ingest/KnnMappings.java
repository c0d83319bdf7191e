package io.embedder.ingest;

import io.embedder.core.Task;
import org.opensearch.cluster.metadata.IndexAbstraction;
import org.opensearch.cluster.metadata.IndexMetadata;
import org.opensearch.cluster.metadata.MappingMetadata;
import org.opensearch.cluster.metadata.Metadata;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * The {@code dimension} of a {@code knn_vector} field (k-NN plugin) as mapped in an index, read from the cluster
 * state this node has: the {@code embed} processor checks its vectors against it before embedding, so a wrong size
 * is an error for the document, never a silent truncation.
 */
final class KnnMappings {

    static final String KNN_VECTOR = "knn_vector";

    private final Supplier<Metadata> metadata;

    KnnMappings(Supplier<Metadata> metadata) {
        this.metadata = metadata;
    }

    /**
     * Fails each document whose vector field is mapped as a {@code knn_vector} of another dimension than the model
     * gives ({@code modelDimensions}, asked at most once and only when such a field is found), or that would put token
     * vectors into one; called before inference, so nothing is spent on them.
     */
    void failMismatches(List<DocumentTexts> docs, EmbedOptions options, IntSupplier modelDimensions) {
        Map<String, Optional<Integer>> mapped = new HashMap<>();
        Integer outputDimensions = null;
        for (DocumentTexts doc : docs) {
            for (FieldTexts.Found text : doc.toEmbed()) {
                String field = FieldTexts.fieldName(text.target());
                Optional<Integer> dimension = mapped.computeIfAbsent(doc.index() + "\u0000" + field,
                    k -> Optional.ofNullable(dimension(doc.index(), field)));
                if (dimension.isEmpty()) {
                    continue;
                }
                String where = "[" + EmbedProcessor.TYPE + "] field [" + field + "] of index [" + doc.index() + "] is a knn_vector";
                if (options.task() != Task.EMBED) {
                    doc.fail(new IllegalArgumentException(where + " (one vector), but task [" + options.task().id()
                        + "] gives one vector per token"));
                    break;
                }
                if (outputDimensions == null) {
                    outputDimensions = modelDimensions.getAsInt();
                }
                if (!dimension.get().equals(outputDimensions)) {
                    doc.fail(new IllegalArgumentException(where + " of dimension [" + dimension.get() + "], but model [" + options.model() + "]"
                        + (options.dimensions() != null ? " with [dimensions] " + options.dimensions() : "") + " gives " + outputDimensions
                        + " dimensions"));
                    break;
                }
            }
        }
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
