package io.embedder.action;

import io.embedder.core.Embedder;
import io.embedder.plugin.EmbedderSettings;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.opensearch.action.FailedNodeException;
import org.opensearch.action.support.ActionFilters;
import org.opensearch.action.support.nodes.TransportNodesAction;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.inject.Inject;
import org.opensearch.common.settings.Settings;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.transport.TransportService;

import java.io.IOException;
import java.util.List;
import java.util.Map;

/** The node side of loading and unloading: each node (on its generic pool) loads or drops its own copy. */
public final class TransportModelLifecycleActions {

    private static final Logger LOG = LogManager.getLogger(TransportModelLifecycleActions.class);

    private TransportModelLifecycleActions() {}

    private abstract static class Base extends TransportNodesAction<ModelLifecycleAction.Request, ModelLifecycleAction.Response,
        ModelLifecycleAction.NodeRequest, ModelLifecycleAction.NodeResponse> {

        final Embedder embedder;

        Base(ModelLifecycleAction action, ThreadPool threadPool, ClusterService clusterService, TransportService transportService,
             ActionFilters actionFilters, Embedder embedder) {
            super(action.name(), threadPool, clusterService, transportService, actionFilters, ModelLifecycleAction.Request::new,
                ModelLifecycleAction.NodeRequest::new, ThreadPool.Names.GENERIC, ModelLifecycleAction.NodeResponse.class);
            this.embedder = embedder;
        }

        @Override
        protected ModelLifecycleAction.Response newResponse(ModelLifecycleAction.Request request, List<ModelLifecycleAction.NodeResponse> nodes,
                                                           List<FailedNodeException> failures) {
            return new ModelLifecycleAction.Response(clusterService.getClusterName(), request.model(), nodes, failures);
        }

        @Override
        protected ModelLifecycleAction.NodeRequest newNodeRequest(ModelLifecycleAction.Request request) {
            return new ModelLifecycleAction.NodeRequest(request.model());
        }

        @Override
        protected ModelLifecycleAction.NodeResponse newNodeResponse(StreamInput in) throws IOException {
            return new ModelLifecycleAction.NodeResponse(in);
        }

        /** Runs {@code work}, reporting the embedder's errors as the OpenSearch exceptions the REST layer renders. */
        static <T> T reportingErrors(java.util.function.Supplier<T> work) {
            try {
                return work.get();
            } catch (RuntimeException e) {
                Exception reported = Errors.toOpenSearch(e);
                throw reported instanceof RuntimeException r ? r : e;
            }
        }
    }

    public static final class Load extends Base {
        private final String defaultModel;

        @Inject
        public Load(ThreadPool threadPool, ClusterService clusterService, TransportService transportService, ActionFilters actionFilters,
                    Settings settings, Embedder embedder) {
            super(ModelLifecycleAction.LOAD, threadPool, clusterService, transportService, actionFilters, embedder);
            this.defaultModel = EmbedderSettings.DEFAULT_MODEL.get(settings);
        }

        @Override
        protected ModelLifecycleAction.NodeResponse nodeOperation(ModelLifecycleAction.NodeRequest request) {
            return reportingErrors(() -> {
                Embedder.LoadResult loaded = embedder.load(request.model());
                Map<String, Object> config = ModelsView.one(embedder, request.model(), loaded.spec(), defaultModel);
                LOG.info("{} model [{}] in {} ms, warm-up {} ms: {}", loaded.replaced() ? "reloaded" : "loaded", request.model(),
                    loaded.loadMillis(), loaded.warmupMillis(), config);
                return new ModelLifecycleAction.NodeResponse(clusterService.localNode(),
                    loaded.replaced() ? ModelLifecycleAction.Outcome.RELOADED : ModelLifecycleAction.Outcome.LOADED,
                    loaded.loadMillis(), loaded.warmupMillis(), config);
            });
        }
    }

    public static final class Unload extends Base {

        @Inject
        public Unload(ThreadPool threadPool, ClusterService clusterService, TransportService transportService, ActionFilters actionFilters,
                      Embedder embedder) {
            super(ModelLifecycleAction.UNLOAD, threadPool, clusterService, transportService, actionFilters, embedder);
        }

        @Override
        protected ModelLifecycleAction.NodeResponse nodeOperation(ModelLifecycleAction.NodeRequest request) {
            return reportingErrors(() -> {
                boolean wasLoaded = embedder.unload(request.model());
                if (wasLoaded) {
                    LOG.info("unloaded model [{}]", request.model());
                }
                return new ModelLifecycleAction.NodeResponse(clusterService.localNode(),
                    wasLoaded ? ModelLifecycleAction.Outcome.UNLOADED : ModelLifecycleAction.Outcome.NOT_LOADED, 0, 0, Map.of());
            });
        }
    }
}
