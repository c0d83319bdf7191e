package io.embedder.ingest;

import io.embedder.action.Errors;
import io.embedder.core.Embedder;
import io.embedder.core.EmbedderException;
import io.embedder.core.Embeddings;
import io.embedder.core.Task;
import org.opensearch.ingest.AbstractBatchingProcessor;
import org.opensearch.ingest.IngestDocument;
import org.opensearch.ingest.IngestDocumentWrapper;
import org.opensearch.ingest.Processor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code embed} ingest processor: embeds text fields into vector fields with the model's document role, through the
 * node's embedder. The documents of a sub-batch are embedded in one call on the inference pool; a document that is
 * wrong fails alone, with a message naming the field and the document, and the others go on.
 *
 * <p>Per sub-batch: find each document's texts ({@link DocumentTexts}); with {@code skip_existing}, reuse the stored
 * vectors of unchanged texts ({@link ExistingVectors}); check the vector fields' mappings ({@link TargetMappings}: a
 * {@code knn_vector}'s dimension, the model and settings the index's {@code _meta} declares); embed the rest; write.
 *
 * <pre>{@code {"embed": {"model": "bge-small-en-v1.5", "field_map": {"body": "body_vec"}}}}</pre>
 */
public final class EmbedProcessor extends AbstractBatchingProcessor {

    public static final String TYPE = "embed";

    /** How the core names the text an error is about: {@code [texts][3]: text has ...}. */
    private static final Pattern TEXT_ERROR = Pattern.compile("\\[texts]\\[(\\d+)]: (.*)", Pattern.DOTALL);

    /** What the processor talks to; tests give their own. */
    record Services(Supplier<Embedder> embedder, Executor inference, TargetMappings mappings, ExistingVectors existing) {}

    private final EmbedOptions options;
    private final Services services;

    EmbedProcessor(String tag, String description, int batchSize, EmbedOptions options, Services services) {
        super(tag, description, batchSize);
        this.options = options;
        this.services = services;
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

    @Override
    protected void subBatchExecute(List<IngestDocumentWrapper> documents, Consumer<List<IngestDocumentWrapper>> handler) {
        List<DocumentTexts> docs = new ArrayList<>();
        for (IngestDocumentWrapper wrapper : documents) {
            if (wrapper.getException() != null) {
                continue;
            }
            try {
                DocumentTexts doc = DocumentTexts.find(wrapper, options);
                if (!doc.isEmpty()) {
                    docs.add(doc);
                }
            } catch (IllegalArgumentException e) {
                wrapper.update(wrapper.getIngestDocument(), e);
            }
        }
        Runnable embedAndWrite = () -> embedAndWrite(docs, () -> handler.accept(documents));
        if (docs.isEmpty()) {
            handler.accept(documents);
        } else if (options.skipExisting()) {
            services.existing().reuse(docs, options.fieldMap(), embedAndWrite);
        } else {
            embedAndWrite.run();
        }
    }

    /** Embeds what is left to embed on the inference pool (never on the calling thread), writes every document, then {@code done}. */
    private void embedAndWrite(List<DocumentTexts> docs, Runnable done) {
        List<DocumentTexts> toEmbed = docs.stream().filter(d -> !d.toEmbed().isEmpty()).toList();
        if (toEmbed.isEmpty()) {
            docs.forEach(DocumentTexts::write);
            done.run();
            return;
        }
        try {
            services.embedder().get().submit(options.model(), services.inference(), () -> {
                try {
                    services.mappings().failMismatches(toEmbed, options, () -> new TargetMappings.ModelDefaults(
                        services.embedder().get().dimensions(options.model()), services.embedder().get().normalizes(options.model())));
                    embed(toEmbed);
                } catch (Exception e) {
                    failAll(toEmbed, e);
                }
                docs.forEach(DocumentTexts::write);
                done.run();
            });
        } catch (RejectedExecutionException rejected) {
            // a full inference queue rejects the whole sub-batch: each document reports it (429 in the bulk item)
            failAll(toEmbed, rejected);
            docs.forEach(DocumentTexts::write);
            done.run();
        }
    }

    /**
     * Embeds the documents' texts in one call. A text the embedder refuses (e.g. over the token limit with
     * {@code truncate_prompt_tokens: none}) fails its document, and the others are embedded again without it. When an
     * ONNX run fails, the documents are embedded again one call each, so that only those whose texts the runtime
     * cannot run fail.
     */
    private void embed(List<DocumentTexts> docs) {
        List<DocumentTexts> pending = new ArrayList<>(docs.stream().filter(d -> !d.failed()).toList());
        while (!pending.isEmpty()) {
            List<String> texts = new ArrayList<>();
            List<DocumentTexts> owners = new ArrayList<>();
            List<String> paths = new ArrayList<>();
            for (DocumentTexts doc : pending) {
                for (FieldTexts.Found found : doc.toEmbed()) {
                    texts.add(found.text());
                    owners.add(doc);
                    paths.add(found.path());
                }
            }
            Embeddings result;
            try {
                result = services.embedder().get().embed(options.model(), options.params(texts));
            } catch (EmbedderException e) {
                if (e.kind() == EmbedderException.Kind.INFERENCE_FAILED && pending.size() > 1) {
                    // an ONNX run failed, and it held some of these documents' texts: find which, one document at a time
                    pending.forEach(doc -> embedAlone(doc));
                    return;
                }
                Matcher text = TEXT_ERROR.matcher(e.getMessage());
                if (e.kind() != EmbedderException.Kind.BAD_REQUEST || !text.matches()) {
                    throw e;
                }
                int i = Integer.parseInt(text.group(1));
                owners.get(i).fail(new IllegalArgumentException("[" + TYPE + "] field [" + paths.get(i) + "] of document ["
                    + owners.get(i).id() + "]: " + text.group(2), e));
                pending.remove(owners.get(i));
                continue;
            }
            int next = 0;
            for (DocumentTexts doc : pending) {
                int n = doc.toEmbed().size();
                doc.embedded(fieldValues(result, next, next + n));
                next += n;
            }
            return;
        }
    }

    /** Embeds one document's texts in a call of their own; a failure fails that document only, naming it. */
    private void embedAlone(DocumentTexts doc) {
        try {
            embed(List.of(doc));
        } catch (EmbedderException e) {
            failAll(List.of(doc), new EmbedderException(e.kind(), "[" + TYPE + "] document [" + doc.id() + "]: " + e.getMessage(), e));
        } catch (Exception e) {
            failAll(List.of(doc), e);
        }
    }

    /** The vectors of texts {@code from} to {@code to} as field values: a list of floats, or a list of those per token. */
    private static List<Object> fieldValues(Embeddings result, int from, int to) {
        List<Object> out = new ArrayList<>(to - from);
        for (int i = from; i < to; i++) {
            if (result.task() == Task.EMBED) {
                out.add(new FloatList(result.vectors().get(i)));
            } else {
                float[][] vectors = result.tokens().get(i);
                List<List<Float>> tokens = new ArrayList<>(vectors.length);
                for (float[] token : vectors) {
                    tokens.add(new FloatList(token));
                }
                out.add(tokens);
            }
        }
        return out;
    }

    private static void failAll(List<DocumentTexts> docs, Exception e) {
        Exception reported = e instanceof EmbedderException ? Errors.toOpenSearch(e) : e;
        docs.forEach(d -> d.fail(reported));
    }

    /** Checks the configuration when the pipeline is created, not at the first document. */
    public static final class Factory extends AbstractBatchingProcessor.Factory {

        private final Supplier<Embedder> embedder;
        private final String defaultModel;
        private final int defaultBatchSize;
        private final Services services;

        /**
         * @param inference        runs inference (the node's {@code embedder} pool)
         * @param parameters       the node's client (stored documents for {@code skip_existing}) and cluster state (mappings)
         * @param defaultBatchSize documents per sub-batch when the processor sets no {@code batch_size}
         * @param reused           counts the texts {@code skip_existing} did not embed again
         */
        public Factory(Supplier<Embedder> embedder, Executor inference, Processor.Parameters parameters, String defaultModel,
                       int defaultBatchSize, ReuseCounter reused) {
            super(TYPE);
            this.embedder = embedder;
            this.defaultModel = defaultModel;
            this.defaultBatchSize = defaultBatchSize;
            this.services = new Services(embedder, inference,
                new TargetMappings(() -> parameters.ingestService.getClusterService().state().metadata()),
                new ExistingVectors(ExistingVectors.through(() -> parameters.client, parameters.genericExecutor::accept), reused));
        }

        @Override
        public AbstractBatchingProcessor create(Map<String, Processor.Factory> registry, String tag, String description,
                                                Map<String, Object> config) throws Exception {
            // a bulk's documents are embedded together unless the pipeline says otherwise
            config.putIfAbsent(BATCH_SIZE_FIELD, defaultBatchSize);
            return super.create(registry, tag, description, config);
        }

        @Override
        protected AbstractBatchingProcessor newProcessor(String tag, String description, int batchSize, Map<String, Object> config) {
            return new EmbedProcessor(tag, description, batchSize, EmbedOptions.read(tag, config, embedder.get(), defaultModel), services);
        }
    }
}
