package io.embedder.ingest;

import io.embedder.core.Task;
import io.embedder.meta.FieldEmbedding;
import org.opensearch.cluster.metadata.IndexAbstraction;
import org.opensearch.cluster.metadata.IndexMetadata;
import org.opensearch.cluster.metadata.MappingMetadata;
import org.opensearch.cluster.metadata.Metadata;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * What the target index's mapping says about a vector field the {@code embed} processor writes, read from the
 * cluster state this node has: the {@code dimension} of a {@code knn_vector} field (k-NN plugin), and the field's
 * {@code _meta.embedder.fields} entry ({@link FieldEmbedding}), which queries embed with. The processor checks its
 * vectors against both before embedding, so a wrong size is an error for the document, never a silent truncation, and
 * an index never holds vectors that its queries would embed another way.
 */
final class TargetMappings {

    static final String KNN_VECTOR = "knn_vector";

    private final Supplier<Metadata> metadata;

    TargetMappings(Supplier<Metadata> metadata) {
        this.metadata = metadata;
    }

    /** What the processor's model gives when a setting is left to it. */
    record ModelDefaults(int dimensions, boolean normalize) {}

    /**
     * Fails each document whose vector field is mapped as a {@code knn_vector} of another dimension than the processor
     * writes, or that would put token vectors into one, or whose index remembers in {@code _meta} another model,
     * dimensions or normalization for the field. {@code model} (the processor's model's defaults) is asked at most
     * once, and only when a field needs it. Called before inference, so nothing is spent on these documents.
     */
    void failMismatches(List<DocumentTexts> docs, EmbedOptions options, Supplier<ModelDefaults> model) {
        Map<String, Optional<Target>> targets = new HashMap<>();
        ModelDefaults defaults = null;
        for (DocumentTexts doc : docs) {
            for (FieldTexts.Found text : doc.toEmbed()) {
                String field = FieldTexts.fieldName(text.target());
                Target target;
                try {
                    target = targets.computeIfAbsent(doc.index() + "\u0000" + field, k -> Optional.ofNullable(target(doc.index(), field)))
                        .orElse(null);
                } catch (IllegalArgumentException malformedMeta) {
                    doc.fail(new IllegalArgumentException("[" + EmbedProcessor.TYPE + "] field [" + field + "]: " + malformedMeta.getMessage()));
                    break;
                }
                if (target == null) {
                    continue;
                }
                if (defaults == null && (target.knnDimension() != null || target.remembered() != null)) {
                    defaults = model.get();
                }
                String problem = target.problem(field, doc.index(), options, defaults);
                if (problem != null) {
                    doc.fail(new IllegalArgumentException(problem));
                    break;
                }
            }
        }
    }

    /** A target field's {@code knn_vector} dimension and {@code _meta} entry, either possibly null. */
    record Target(Integer knnDimension, FieldEmbedding remembered) {

        String problem(String field, String index, EmbedOptions options, ModelDefaults model) {
            String where = "[" + EmbedProcessor.TYPE + "] field [" + field + "] of index [" + index + "]";
            if (knnDimension != null && options.task() != Task.EMBED) {
                return where + " is a knn_vector (one vector), but task [" + options.task().id() + "] gives one vector per token";
            }
            FieldEmbedding written = new FieldEmbedding(options.model(), options.dimensions(), options.normalize());
            FieldEmbedding resolved = written.resolved(model.dimensions(), model.normalize());
            if (knnDimension != null && !knnDimension.equals(resolved.dimensions())) {
                return where + " is a knn_vector of dimension [" + knnDimension + "], but model [" + options.model() + "]"
                    + (options.dimensions() != null ? " with [dimensions] " + options.dimensions() : "") + " gives " + resolved.dimensions()
                    + " dimensions";
            }
            if (remembered != null && options.task() == Task.EMBED
                && !(remembered.model().equals(written.model()) && remembered.resolved(model.dimensions(), model.normalize()).equals(resolved))) {
                return where + " is declared in _meta.embedder.fields." + field + " as " + remembered.describe() + ", which queries on it "
                    + "embed with, but this processor embeds with " + written.describe();
            }
            return null;
        }
    }

    /** The mapping of {@code field} in {@code index}'s write index, or null when there is nothing to check. */
    private Target target(String index, String field) {
        Map<String, Object> source = mappingSource(index);
        if (source == null) {
            return null;
        }
        Integer dimension = knnDimension(source, field);
        FieldEmbedding remembered = FieldEmbedding.fromMapping(index, field, source);
        return dimension == null && remembered == null ? null : new Target(dimension, remembered);
    }

    /**
     * The mapped dimension of {@code field} (a dotted field name) in {@code index} (an index, an alias with a write
     * index, or a data stream), or null when the index does not exist yet or the field is not a {@code knn_vector}.
     */
    Integer dimension(String index, String field) {
        Map<String, Object> source = mappingSource(index);
        return source == null ? null : knnDimension(source, field);
    }

    /** The mapping source of {@code index}'s write index, or null when there is none yet. */
    private Map<String, Object> mappingSource(String index) {
        if (index == null) {
            return null;
        }
        IndexAbstraction found = metadata.get().getIndicesLookup().get(index);
        IndexMetadata write = found == null ? null : found.getWriteIndex();
        MappingMetadata mapping = write == null ? null : write.mapping();
        return mapping == null ? null : mapping.sourceAsMap();
    }

    private static Integer knnDimension(Map<String, Object> source, String field) {
        Object properties = source.get("properties");
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
