package io.embedder.action;

import io.embedder.core.Embedder;
import io.embedder.core.lateinteraction.MaxSimScorer;
import io.embedder.core.stats.ModelStats;
import io.embedder.ingest.ReuseCounter;
import io.embedder.plugin.EmbedderSettings;
import org.opensearch.action.FailedNodeException;
import org.opensearch.action.support.ActionFilters;
import org.opensearch.action.support.nodes.TransportNodesAction;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.inject.Inject;
import org.opensearch.common.settings.Settings;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.threadpool.ThreadPoolStats;
import org.opensearch.transport.TransportService;

import java.io.IOException;
import java.util.List;

/** Asks every selected node for its embedder's counters (on the management pool) and gathers the answers. */
public final class TransportStatsAction
    extends TransportNodesAction<StatsAction.Request, StatsAction.Response, StatsAction.NodeRequest, StatsAction.NodeStats> {

    private final Embedder embedder;
    private final ReuseCounter reused;
    private final String defaultModel;
    private final List<String> preloadModels;

    @Inject
    public TransportStatsAction(ThreadPool threadPool, ClusterService clusterService, TransportService transportService,
                                ActionFilters actionFilters, Settings settings, Embedder embedder, ReuseCounter reused) {
        super(StatsAction.NAME, threadPool, clusterService, transportService, actionFilters, StatsAction.Request::new,
            StatsAction.NodeRequest::new, ThreadPool.Names.MANAGEMENT, StatsAction.NodeStats.class);
        this.embedder = embedder;
        this.reused = reused;
        this.defaultModel = EmbedderSettings.DEFAULT_MODEL.get(settings);
        this.preloadModels = EmbedderSettings.PRELOAD_MODELS.get(settings);
    }

    @Override
    protected StatsAction.Response newResponse(StatsAction.Request request, List<StatsAction.NodeStats> nodes,
                                               List<FailedNodeException> failures) {
        return new StatsAction.Response(clusterService.getClusterName(), nodes, failures);
    }

    @Override
    protected StatsAction.NodeRequest newNodeRequest(StatsAction.Request request) {
        return new StatsAction.NodeRequest(request.model());
    }

    @Override
    protected StatsAction.NodeStats newNodeResponse(StreamInput in) throws IOException {
        return new StatsAction.NodeStats(in);
    }

    @Override
    protected StatsAction.NodeStats nodeOperation(StatsAction.NodeRequest request) {
        List<ModelStats> models = embedder.stats().stream().filter(s -> request.model() == null || s.model().equals(request.model())).toList();
        return new StatsAction.NodeStats(clusterService.localNode(), defaultModel, preloadModels, models, pool(EmbedderSettings.THREAD_POOL),
            pool(EmbedderSettings.INGEST_THREAD_POOL),
            MaxSimScorer.kernel(), reused.reusedTexts());
    }

    private StatsAction.PoolStats pool(String name) {
        for (ThreadPoolStats.Stats s : threadPool.stats()) {
            if (s.getName().equals(name)) {
                return new StatsAction.PoolStats(s.getThreads(), s.getQueue(), s.getActive(), s.getRejected(), s.getLargest(), s.getCompleted());
            }
        }
        return StatsAction.PoolStats.NONE;
    }
}
