package io.embedder.action;

import io.embedder.core.EmbedParams;
import io.embedder.core.Embedder;
import io.embedder.core.Embeddings;
import io.embedder.core.Task;
import io.embedder.ingest.ReuseCounter;
import io.embedder.plugin.EmbedderSettings;
import org.opensearch.action.support.ActionFilters;
import org.opensearch.action.support.HandledTransportAction;
import org.opensearch.common.inject.Inject;
import org.opensearch.common.settings.Settings;
import org.opensearch.core.action.ActionListener;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.transport.TransportService;

import java.util.ArrayList;
import java.util.List;

/** The transport actions behind the REST API; inference runs on the {@code embedder} pool, never on the caller's thread. */
public final class TransportEmbedderActions {

    private TransportEmbedderActions() {}

    /** Runs {@code work}, a call of the embedder for {@code model}, on the inference pool; a full queue answers 429 through the listener. */
    static <T> void onInferencePool(ThreadPool threadPool, Embedder embedder, String model, ActionListener<T> listener, CheckedSupplier<T> work) {
        try {
            embedder.submit(model, threadPool.executor(EmbedderSettings.THREAD_POOL), () -> {
                T result;
                try {
                    result = work.get();
                } catch (Exception e) {
                    listener.onFailure(Errors.toOpenSearch(e));
                    return;
                }
                listener.onResponse(result);
            });
        } catch (Exception rejected) {
            listener.onFailure(rejected);
        }
    }

    @FunctionalInterface
    interface CheckedSupplier<T> {
        T get() throws Exception;
    }

    public static final class Embed extends HandledTransportAction<EmbedAction.Request, EmbedAction.Response> {
        private final Embedder embedder;
        private final ThreadPool threadPool;

        @Inject
        public Embed(TransportService transportService, ActionFilters actionFilters, ThreadPool threadPool, Embedder embedder) {
            super(EmbedAction.NAME, transportService, actionFilters, EmbedAction.Request::new);
            this.embedder = embedder;
            this.threadPool = threadPool;
        }

        @Override
        protected void doExecute(org.opensearch.tasks.Task task, EmbedAction.Request request, ActionListener<EmbedAction.Response> listener) {
            onInferencePool(threadPool, embedder, request.model(), listener, () -> {
                Embeddings e = embedder.embed(request.model(), EmbedParams.parse(request.body()));
                List<float[][]> perText = new ArrayList<>();
                if (e.task() == Task.EMBED) {
                    e.vectors().forEach(v -> perText.add(new float[][] {v}));
                } else {
                    perText.addAll(e.tokens());
                }
                return new EmbedAction.Response(e.model(), e.task(), e.dimensions(), perText);
            });
        }
    }

    /** Reads every model directory (a tokenizer.json is hundreds of KB), so it runs on the generic pool, not the caller's thread. */
    public static final class Models extends HandledTransportAction<InfoAction.Request, InfoAction.Response> {
        private final Embedder embedder;
        private final ThreadPool threadPool;
        private final String defaultModel;

        @Inject
        public Models(TransportService transportService, ActionFilters actionFilters, ThreadPool threadPool, Settings settings,
                      Embedder embedder) {
            super(InfoAction.MODELS.name(), transportService, actionFilters, InfoAction.Request::new);
            this.embedder = embedder;
            this.threadPool = threadPool;
            this.defaultModel = EmbedderSettings.DEFAULT_MODEL.get(settings);
        }

        @Override
        protected void doExecute(org.opensearch.tasks.Task task, InfoAction.Request request, ActionListener<InfoAction.Response> listener) {
            threadPool.generic().execute(() -> {
                InfoAction.Response response;
                try {
                    response = new InfoAction.Response(request.model() == null ? ModelsView.all(embedder, defaultModel)
                        : ModelsView.one(embedder, request.model(), embedder.spec(request.model()), defaultModel));
                } catch (Exception e) {
                    listener.onFailure(Errors.toOpenSearch(e));
                    return;
                }
                listener.onResponse(response);
            });
        }
    }

}
