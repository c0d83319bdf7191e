package io.embedder.ingest;

import org.opensearch.action.get.MultiGetItemResponse;
import org.opensearch.action.get.MultiGetRequest;
import org.opensearch.action.get.MultiGetResponse;
import org.opensearch.core.action.ActionListener;
import org.opensearch.search.fetch.subphase.FetchSourceContext;
import org.opensearch.transport.client.Client;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * {@code skip_existing}: reads the stored version of a batch's documents (one multi-get, by index, id and routing,
 * only the text and vector fields) and, per document and {@code field_map} entry, reuses the stored vectors when the
 * texts are unchanged. A document that is not stored yet, or a lookup that fails, is simply embedded.
 */
final class ExistingVectors {

    /** Where a document is stored. */
    record DocRef(String index, String id, String routing) {}

    /** Fetches stored sources asynchronously: never blocks the calling thread. */
    @FunctionalInterface
    interface StoredSources {
        /**
         * Calls {@code done} once with each document's stored source filtered to {@code fields}, in order; null for a
         * document that is not found or could not be read.
         */
        void fetch(List<DocRef> docs, String[] fields, Consumer<List<Map<String, Object>>> done);
    }

    private final StoredSources stored;
    private final ReuseCounter counter;

    ExistingVectors(StoredSources stored, ReuseCounter counter) {
        this.stored = stored;
        this.counter = counter;
    }

    /** Reuses what it can in {@code docs}, then runs {@code then} (on the thread the lookup answers on). */
    void reuse(List<DocumentTexts> docs, List<FieldMapping> fieldMap, Runnable then) {
        List<DocumentTexts> lookedUp = new ArrayList<>();
        List<DocRef> refs = new ArrayList<>();
        for (DocumentTexts doc : docs) {
            if (doc.hasId() && doc.index() != null) {
                lookedUp.add(doc);
                refs.add(new DocRef(doc.index(), doc.id(), doc.routing()));
            }
        }
        if (refs.isEmpty()) {
            then.run();
            return;
        }
        stored.fetch(refs, fields(fieldMap), sources -> {
            int reused = 0;
            for (int i = 0; i < lookedUp.size(); i++) {
                try {
                    reused += sources.get(i) == null ? 0 : lookedUp.get(i).reuse(sources.get(i));
                } catch (RuntimeException unexpectedShape) {
                    // whatever the stored document holds, the worst outcome is embedding this one again
                }
            }
            counter.add(reused);
            then.run();
        });
    }

    private static String[] fields(List<FieldMapping> fieldMap) {
        Set<String> fields = new LinkedHashSet<>();
        for (FieldMapping m : fieldMap) {
            fields.add(m.source());
            fields.add(m.target());
        }
        return fields.toArray(new String[0]);
    }

    /**
     * Multi-get through the node client, with the caller's thread context (its permissions). The answer may arrive on
     * a network thread, so {@code done} runs on {@code callbacks} (the generic pool): the rest of the pipeline never
     * runs on a network thread.
     */
    static StoredSources through(Supplier<Client> client, Executor callbacks) {
        return (docs, fields, done) -> {
            MultiGetRequest request = new MultiGetRequest();
            for (DocRef doc : docs) {
                request.add(new MultiGetRequest.Item(doc.index(), doc.id()).routing(doc.routing())
                    .fetchSourceContext(new FetchSourceContext(true, fields, null)));
            }
            ActionListener<MultiGetResponse> listener = new ActionListener<>() {
                @Override
                public void onResponse(MultiGetResponse response) {
                    List<Map<String, Object>> sources;
                    try {
                        sources = new ArrayList<>(docs.size());
                        for (MultiGetItemResponse item : response.getResponses()) {
                            boolean found = !item.isFailed() && item.getResponse().isExists() && !item.getResponse().isSourceEmpty();
                            sources.add(found ? item.getResponse().getSourceAsMap() : null);
                        }
                    } catch (RuntimeException unreadable) {
                        sources = nothing(docs.size());
                    }
                    List<Map<String, Object>> found = sources;
                    answer(callbacks, () -> done.accept(found));
                }

                @Override
                public void onFailure(Exception e) {
                    answer(callbacks, () -> done.accept(nothing(docs.size())));
                }
            };
            try {
                client.get().multiGet(request, listener);
            } catch (RuntimeException refused) {
                listener.onFailure(refused);
            }
        };
    }

    /** Runs {@code answer} on {@code callbacks}, or here when it refuses (a node shutting down): the batch is always answered. */
    private static void answer(Executor callbacks, Runnable answer) {
        try {
            callbacks.execute(answer);
        } catch (RejectedExecutionException refused) {
            answer.run();
        }
    }

    private static List<Map<String, Object>> nothing(int n) {
        return new ArrayList<>(Collections.nCopies(n, null));
    }
}
