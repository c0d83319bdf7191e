package io.embedder.ingest;

import org.opensearch.ingest.IngestDocument;
import org.opensearch.ingest.IngestDocumentWrapper;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One document's work for the {@code embed} processor: the texts of each {@code field_map} entry, then the values
 * their vector fields get (reused from the stored document, or embedded). Nothing is written into the document until
 * all its values are known, so a document that fails keeps its source as it came.
 */
final class DocumentTexts {

    /** A {@code field_map} entry's texts in this document, and the values of its vector fields once known. */
    private static final class Entry {
        final FieldMapping mapping;
        final List<FieldTexts.Found> texts;
        Map<String, Object> values;

        Entry(FieldMapping mapping, List<FieldTexts.Found> texts) {
            this.mapping = mapping;
            this.texts = texts;
        }
    }

    private final IngestDocumentWrapper wrapper;
    private final List<Entry> entries = new ArrayList<>();

    private DocumentTexts(IngestDocumentWrapper wrapper) {
        this.wrapper = wrapper;
    }

    /** Finds the document's texts; a field that is wrong fails with an {@link IllegalArgumentException} naming it. */
    static DocumentTexts find(IngestDocumentWrapper wrapper, EmbedOptions options) {
        DocumentTexts doc = new DocumentTexts(wrapper);
        for (FieldMapping mapping : options.fieldMap()) {
            List<FieldTexts.Found> texts = FieldTexts.find(wrapper.getIngestDocument().getSourceAndMetadata(), mapping,
                options.ignoreMissing(), doc.id());
            if (!texts.isEmpty()) {
                doc.entries.add(new Entry(mapping, texts));
            }
        }
        return doc;
    }

    boolean isEmpty() {
        return entries.isEmpty();
    }

    String index() {
        return metadata(IngestDocument.Metadata.INDEX);
    }

    /** The document's id, or {@code (no id)} when the index will generate one. */
    String id() {
        String id = metadata(IngestDocument.Metadata.ID);
        return id == null ? "(no id)" : id;
    }

    boolean hasId() {
        return metadata(IngestDocument.Metadata.ID) != null;
    }

    String routing() {
        return metadata(IngestDocument.Metadata.ROUTING);
    }

    private String metadata(IngestDocument.Metadata key) {
        Object value = wrapper.getIngestDocument().getSourceAndMetadata().get(key.getFieldName());
        return value == null ? null : value.toString();
    }

    /**
     * Reuses the stored vectors of every entry whose texts are exactly those of the stored document (same paths,
     * same strings) and whose vector fields the stored document has; returns how many texts that spares.
     */
    int reuse(Map<String, Object> stored) {
        int reused = 0;
        for (Entry entry : entries) {
            if (entry.values != null) {
                continue;
            }
            List<FieldTexts.Found> before;
            try {
                before = FieldTexts.find(stored, entry.mapping, true, id());
            } catch (IllegalArgumentException storedDiffers) {
                continue;
            }
            if (!before.equals(entry.texts)) {
                continue;
            }
            // target -> its text, or the list of its texts: the shape the stored value must have
            Map<String, Object> values = FieldTexts.values(entry.texts, entry.texts.stream().map(FieldTexts.Found::text).toList());
            boolean complete = true;
            for (Map.Entry<String, Object> target : values.entrySet()) {
                Object storedValue = FieldTexts.valueAt(stored, target.getKey());
                boolean sameShape = target.getValue() instanceof List<?> texts
                    ? storedValue instanceof List<?> vectors && vectors.size() == texts.size()
                        && vectors.stream().allMatch(DocumentTexts::isVector)
                    : isVector(storedValue);
                complete &= sameShape;
                target.setValue(storedValue);
            }
            if (complete) {
                entry.values = values;
                reused += entry.texts.size();
            }
        }
        return reused;
    }

    /** A stored vector (a list of numbers) or token vectors (a list of those); anything else is embedded again. */
    private static boolean isVector(Object value) {
        return value instanceof List<?> list && !list.isEmpty()
            && list.stream().allMatch(x -> x instanceof Number || (x instanceof List<?> token && !token.isEmpty()));
    }

    /** Texts still to embed, in order. */
    List<FieldTexts.Found> toEmbed() {
        List<FieldTexts.Found> out = new ArrayList<>();
        for (Entry entry : entries) {
            if (entry.values == null) {
                out.addAll(entry.texts);
            }
        }
        return out;
    }

    /** The vectors of {@link #toEmbed()}, in the same order. */
    void embedded(List<?> vectors) {
        int next = 0;
        for (Entry entry : entries) {
            if (entry.values == null) {
                entry.values = FieldTexts.values(entry.texts, vectors.subList(next, next + entry.texts.size()));
                next += entry.texts.size();
            }
        }
    }

    /** Writes every vector field; a target that cannot be set (its parent is not an object) fails the document. */
    void write() {
        if (failed()) {
            return;
        }
        IngestDocument doc = wrapper.getIngestDocument();
        try {
            for (Entry entry : entries) {
                for (Map.Entry<String, Object> value : entry.values.entrySet()) {
                    doc.setFieldValue(value.getKey(), value.getValue());
                }
            }
        } catch (IllegalArgumentException e) {
            fail(new IllegalArgumentException("[" + EmbedProcessor.TYPE + "] cannot write the vectors of document [" + id() + "]: "
                + e.getMessage(), e));
        }
    }

    void fail(Exception e) {
        if (!failed()) {
            wrapper.update(wrapper.getIngestDocument(), e);
        }
    }

    boolean failed() {
        return wrapper.getException() != null;
    }
}
