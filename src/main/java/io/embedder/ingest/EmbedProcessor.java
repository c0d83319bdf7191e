package io.embedder.ingest;

import io.embedder.core.EmbedParams;
import io.embedder.core.Embedder;
import io.embedder.core.EmbedderException;
import io.embedder.core.Embeddings;
import io.embedder.core.Role;
import io.embedder.core.Task;
import io.embedder.core.model.ModelSpec;
import io.embedder.core.runtime.Truncation;
import io.embedder.action.Errors;
import org.opensearch.ingest.AbstractBatchingProcessor;
import org.opensearch.ingest.ConfigurationUtils;
import org.opensearch.ingest.IngestDocument;
import org.opensearch.ingest.IngestDocumentWrapper;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * {@code embed} ingest processor: embeds text fields into vector fields with the model's document role, through the
 * node's embedder. A bulk's documents are embedded together (one call per sub-batch); a document whose field is
 * wrong fails alone, with a message naming the field and the document, and the others go on.
 *
 * <pre>{@code {"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "body_vec"}}}}</pre>
 */
public final class EmbedProcessor extends AbstractBatchingProcessor {

    public static final String TYPE = "embed";

    private final Supplier<Embedder> embedder;
    private final Executor executor;
    private final String model;
    private final Map<String, String> fieldMap;
    private final Task task;
    private final Integer dimensions;
    private final boolean ignoreMissing;

    EmbedProcessor(String tag, String description, int batchSize, Supplier<Embedder> embedder, Executor executor, String model,
                   Map<String, String> fieldMap, Task task, Integer dimensions, boolean ignoreMissing) {
        super(tag, description, batchSize);
        this.embedder = embedder;
        this.executor = executor;
        this.model = model;
        this.fieldMap = fieldMap;
        this.task = task;
        this.dimensions = dimensions;
        this.ignoreMissing = ignoreMissing;
    }

    @Override
    public String getType() {
        return TYPE;
    }

    @Override
    public IngestDocument execute(IngestDocument document) {
        throw new UnsupportedOperationException("[" + TYPE + "] runs asynchronously");
    }

    @Override
    public void execute(IngestDocument document, BiConsumer<IngestDocument, Exception> handler) {
        IngestDocumentWrapper one = new IngestDocumentWrapper(0, 0, document, null);
        subBatchExecute(List.of(one), done -> handler.accept(one.getException() == null ? one.getIngestDocument() : null, one.getException()));
    }

    /** One slot to fill: a document's text field and the field its vector goes to. */
    private record Slot(IngestDocumentWrapper doc, String target) {}

    @Override
    protected void subBatchExecute(List<IngestDocumentWrapper> documents, Consumer<List<IngestDocumentWrapper>> handler) {
        List<String> texts = new ArrayList<>();
        List<Slot> slots = new ArrayList<>();
        for (IngestDocumentWrapper wrapper : documents) {
            if (wrapper.getException() != null) {
                continue;
            }
            List<String> docTexts = new ArrayList<>();
            List<Slot> docSlots = new ArrayList<>();
            try {
                collect(wrapper, docTexts, docSlots);
                texts.addAll(docTexts);
                slots.addAll(docSlots);
            } catch (IllegalArgumentException e) {
                wrapper.update(wrapper.getIngestDocument(), e);
            }
        }
        if (texts.isEmpty()) {
            handler.accept(documents);
            return;
        }
        try {
            embedder.get().submit(model, executor, () -> {
                try {
                    Embeddings result = embedder.get().embed(model, new EmbedParams(texts, task, Role.DOCUMENT, null, dimensions,
                        Truncation.MODEL_DEFAULT));
                    for (int i = 0; i < slots.size(); i++) {
                        Slot slot = slots.get(i);
                        Object value = task == Task.EMBED ? toList(result.vectors().get(i)) : toLists(result.tokens().get(i));
                        slot.doc().getIngestDocument().setFieldValue(slot.target(), value);
                    }
                } catch (Exception e) {
                    fail(slots, e);
                }
                handler.accept(documents);
            });
        } catch (Exception rejected) {
            // a full inference queue rejects the whole sub-batch: each document reports it (429 in the bulk item)
            fail(slots, rejected);
            handler.accept(documents);
        }
    }

    private void collect(IngestDocumentWrapper wrapper, List<String> texts, List<Slot> slots) {
        IngestDocument doc = wrapper.getIngestDocument();
        for (Map.Entry<String, String> e : fieldMap.entrySet()) {
            String source = e.getKey();
            Object value = doc.hasField(source, true) ? doc.getFieldValue(source, Object.class, true) : null;
            if (value == null) {
                if (ignoreMissing) {
                    continue;
                }
                throw new IllegalArgumentException("[" + TYPE + "] field [" + source + "] of document [" + id(doc) + "] is "
                    + (doc.hasField(source, true) ? "null" : "missing") + "; set ignore_missing to skip such documents");
            }
            if (!(value instanceof String text)) {
                throw new IllegalArgumentException("[" + TYPE + "] field [" + source + "] of document [" + id(doc) + "] must be a string, got "
                    + typeName(value));
            }
            texts.add(text);
            slots.add(new Slot(wrapper, e.getValue()));
        }
    }

    private static void fail(List<Slot> slots, Exception e) {
        Exception reported = e instanceof EmbedderException ? Errors.toOpenSearch(e) : e;
        for (Slot slot : slots) {
            if (slot.doc().getException() == null) {
                slot.doc().update(slot.doc().getIngestDocument(), reported);
            }
        }
    }

    private static String id(IngestDocument doc) {
        Object id = doc.getSourceAndMetadata().get(IngestDocument.Metadata.ID.getFieldName());
        return id == null ? "(no id)" : id.toString();
    }

    private static String typeName(Object value) {
        if (value instanceof Number) {
            return "number [" + value + "]";
        }
        if (value instanceof Boolean) {
            return "boolean [" + value + "]";
        }
        if (value instanceof List<?> l) {
            return "array of " + l.size();
        }
        if (value instanceof Map<?, ?>) {
            return "object";
        }
        return value.getClass().getSimpleName();
    }

    private static List<Float> toList(float[] v) {
        List<Float> out = new ArrayList<>(v.length);
        for (float x : v) {
            out.add(x);
        }
        return out;
    }

    private static List<List<Float>> toLists(float[][] tokens) {
        List<List<Float>> out = new ArrayList<>(tokens.length);
        for (float[] t : tokens) {
            out.add(toList(t));
        }
        return out;
    }

    /** Validates the processor's configuration when the pipeline is created, not at the first document. */
    public static final class Factory extends AbstractBatchingProcessor.Factory {

        private final Supplier<Embedder> embedder;
        private final Executor executor;
        private final String defaultModel;

        public Factory(Supplier<Embedder> embedder, Executor executor, String defaultModel) {
            super(TYPE);
            this.embedder = embedder;
            this.executor = executor;
            this.defaultModel = defaultModel;
        }

        @Override
        protected AbstractBatchingProcessor newProcessor(String tag, String description, int batchSize, Map<String, Object> config) {
            String model = ConfigurationUtils.readStringProperty(TYPE, tag, config, "model", defaultModel);
            Map<String, Object> rawMap = ConfigurationUtils.readMap(TYPE, tag, config, "field_map");
            String taskName = ConfigurationUtils.readStringProperty(TYPE, tag, config, "task", Task.EMBED.id());
            Integer dimensions = ConfigurationUtils.readIntProperty(TYPE, tag, config, "dimensions", null);
            boolean ignoreMissing = ConfigurationUtils.readBooleanProperty(TYPE, tag, config, "ignore_missing", false);
            if (rawMap.isEmpty()) {
                throw ConfigurationUtils.newConfigurationException(TYPE, tag, "field_map", "must map at least one text field to a vector field");
            }
            Map<String, String> fieldMap = new LinkedHashMap<>();
            for (Map.Entry<String, Object> e : rawMap.entrySet()) {
                if (!(e.getValue() instanceof String target) || target.isEmpty()) {
                    throw ConfigurationUtils.newConfigurationException(TYPE, tag, "field_map",
                        "[" + e.getKey() + "] must map to a non-empty vector field name, got [" + e.getValue() + "]");
                }
                fieldMap.put(e.getKey(), target);
            }
            Task task;
            try {
                task = Task.fromId(taskName);
            } catch (EmbedderException e) {
                throw ConfigurationUtils.newConfigurationException(TYPE, tag, "task", e.getMessage());
            }
            if (dimensions != null && task != Task.EMBED) {
                throw ConfigurationUtils.newConfigurationException(TYPE, tag, "dimensions", "is accepted by task [embed] only");
            }
            ModelSpec spec;
            try {
                spec = embedder.get().spec(model);
            } catch (EmbedderException e) {
                throw ConfigurationUtils.newConfigurationException(TYPE, tag, "model", e.getMessage());
            }
            List<Integer> matryoshka = spec.matryoshkaDimensions().value();
            boolean full = spec.dimensions() != null && dimensions != null && dimensions.equals(spec.dimensions().value());
            if (dimensions != null && !full && !matryoshka.contains(dimensions)) {
                throw ConfigurationUtils.newConfigurationException(TYPE, tag, "dimensions", "[" + dimensions + "] is not "
                    + (matryoshka.isEmpty() ? "available: model [" + model + "] is not declared Matryoshka" : "one of model [" + model
                    + "]'s Matryoshka dimensions " + matryoshka));
            }
            return new EmbedProcessor(tag, description, batchSize, embedder, executor, model, Map.copyOf(fieldMap), task, dimensions,
                ignoreMissing);
        }
    }
}
