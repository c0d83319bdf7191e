package io.embedder.plugin;

import io.embedder.action.EmbedAction;
import io.embedder.action.InfoAction;
import io.embedder.action.ModelLifecycleAction;
import io.embedder.action.StatsAction;
import io.embedder.action.TransportEmbedderActions;
import io.embedder.action.TransportModelLifecycleActions;
import io.embedder.action.TransportStatsAction;
import io.embedder.core.Embedder;
import io.embedder.ingest.EmbedProcessor;
import io.embedder.mapper.LateInteractionFieldMapper;
import io.embedder.query.LateInteractionQueryBuilder;
import io.embedder.ingest.ReuseCounter;
import io.embedder.query.TextKnnQueryBuilder;
import io.embedder.rescore.LateInteractionRescorerBuilder;
import io.embedder.rest.RestEmbedAction;
import io.embedder.rest.RestModelLifecycleAction;
import io.embedder.rest.RestModelsAction;
import io.embedder.rest.RestStatsAction;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.opensearch.cluster.metadata.IndexNameExpressionResolver;
import org.opensearch.cluster.node.DiscoveryNodes;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.settings.ClusterSettings;
import org.opensearch.common.settings.IndexScopedSettings;
import org.opensearch.common.settings.Setting;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.settings.SettingsFilter;
import org.opensearch.core.common.io.stream.NamedWriteableRegistry;
import org.opensearch.core.xcontent.NamedXContentRegistry;
import org.opensearch.env.Environment;
import org.opensearch.env.NodeEnvironment;
import org.opensearch.ingest.Processor;
import org.opensearch.plugins.ActionPlugin;
import org.opensearch.plugins.IngestPlugin;
import org.opensearch.index.mapper.Mapper;
import org.opensearch.plugins.MapperPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.plugins.SearchPlugin;
import org.opensearch.repositories.RepositoriesService;
import org.opensearch.rest.RestController;
import org.opensearch.rest.RestHandler;
import org.opensearch.script.ScriptService;
import org.opensearch.threadpool.ExecutorBuilder;
import org.opensearch.threadpool.FixedExecutorBuilder;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.transport.client.Client;
import org.opensearch.watcher.ResourceWatcherService;

import java.io.IOException;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** Wires the node's one {@link Embedder} into OpenSearch; holds no logic of its own. */
public class EmbedderPlugin extends Plugin implements ActionPlugin, SearchPlugin, IngestPlugin, MapperPlugin {

    /** The plugin's name: its config directory is {@code config/embedder/}. */
    public static final String NAME = "embedder";

    private static final Logger LOG = LogManager.getLogger(EmbedderPlugin.class);

    private final Settings settings;
    private final ReuseCounter reuseCounter = new ReuseCounter();
    private Embedder embedder;

    public EmbedderPlugin(Settings settings) {
        this.settings = settings;
    }

    @Override
    public List<Setting<?>> getSettings() {
        return EmbedderSettings.all();
    }

    /**
     * Two bounded pools whose threads wait while the embedder's own threads run inference: one for searches and
     * {@code _embed}, one for ingest, so queued ingest work never delays a search before the embedder sees it (the
     * embedder then serves query texts first). Enough waiting threads that texts of concurrent requests fill batches.
     */
    @Override
    public List<ExecutorBuilder<?>> getExecutorBuilders(Settings settings) {
        int cores = Runtime.getRuntime().availableProcessors();
        return List.of(
            new FixedExecutorBuilder(settings, EmbedderSettings.THREAD_POOL, 4 * cores, 256, "thread_pool." + EmbedderSettings.THREAD_POOL),
            new FixedExecutorBuilder(settings, EmbedderSettings.INGEST_THREAD_POOL, 32 * cores, 1024,
                "thread_pool." + EmbedderSettings.INGEST_THREAD_POOL));
    }

    @Override
    public Collection<Object> createComponents(Client client, ClusterService clusterService, ThreadPool threadPool,
                                               ResourceWatcherService resourceWatcherService, ScriptService scriptService,
                                               NamedXContentRegistry xContentRegistry, Environment environment,
                                               NodeEnvironment nodeEnvironment, NamedWriteableRegistry namedWriteableRegistry,
                                               IndexNameExpressionResolver indexNameExpressionResolver,
                                               Supplier<RepositoriesService> repositoriesServiceSupplier) {
        embedder = new Embedder(environment.configDir().resolve(NAME).resolve("models"), EmbedderSettings.limits(settings),
            environment.tmpDir().resolve("embedder-native"));
        preload(EmbedderSettings.PRELOAD_MODELS.get(settings), threadPool);
        return List.of(embedder, reuseCounter);
    }

    /** Loads and warms up {@code models} in the background; a model that fails is logged and loads on first use. */
    private void preload(List<String> models, ThreadPool threadPool) {
        for (String model : models) {
            threadPool.generic().execute(() -> {
                try {
                    Embedder.LoadResult loaded = embedder.load(model);
                    LOG.info("preloaded model [{}] in {} ms, warm-up {} ms", model, loaded.loadMillis(), loaded.warmupMillis());
                } catch (RuntimeException e) {
                    LOG.warn("could not preload model [" + model + "] (" + EmbedderSettings.PRELOAD_MODELS.getKey() + ")", e);
                }
            });
        }
    }

    @Override
    public List<ActionHandler<?, ?>> getActions() {
        return List.of(new ActionHandler<>(EmbedAction.INSTANCE, TransportEmbedderActions.Embed.class),
            new ActionHandler<>(InfoAction.MODELS, TransportEmbedderActions.Models.class),
            new ActionHandler<>(StatsAction.INSTANCE, TransportStatsAction.class),
            new ActionHandler<>(ModelLifecycleAction.LOAD, TransportModelLifecycleActions.Load.class),
            new ActionHandler<>(ModelLifecycleAction.UNLOAD, TransportModelLifecycleActions.Unload.class));
    }

    @Override
    public List<RestHandler> getRestHandlers(Settings settings, RestController restController, ClusterSettings clusterSettings,
                                             IndexScopedSettings indexScopedSettings, SettingsFilter settingsFilter,
                                             IndexNameExpressionResolver indexNameExpressionResolver,
                                             Supplier<DiscoveryNodes> nodesInCluster) {
        return List.of(new RestModelsAction(), new RestEmbedAction(), new RestStatsAction(), new RestModelLifecycleAction());
    }

    @Override
    public Map<String, Processor.Factory> getProcessors(Processor.Parameters parameters) {
        return Map.of(EmbedProcessor.TYPE, new EmbedProcessor.Factory(() -> embedder,
            task -> parameters.client.threadPool().executor(EmbedderSettings.INGEST_THREAD_POOL).execute(task), parameters,
            EmbedderSettings.DEFAULT_MODEL.get(settings), EmbedderSettings.MAX_BATCH_SIZE.get(settings), reuseCounter));
    }

    @Override
    public Map<String, Mapper.TypeParser> getMappers() {
        return Map.of(LateInteractionFieldMapper.CONTENT_TYPE, LateInteractionFieldMapper.PARSER);
    }

    @Override
    public List<QuerySpec<?>> getQueries() {
        return List.of(new QuerySpec<>(TextKnnQueryBuilder.NAME, in -> new TextKnnQueryBuilder(in, () -> embedder),
                parser -> TextKnnQueryBuilder.fromXContent(parser, () -> embedder)),
            new QuerySpec<>(LateInteractionQueryBuilder.NAME, in -> new LateInteractionQueryBuilder(in, () -> embedder),
                parser -> LateInteractionQueryBuilder.fromXContent(parser, () -> embedder)));
    }

    @Override
    public List<RescorerSpec<?>> getRescorers() {
        return List.of(new RescorerSpec<>(LateInteractionRescorerBuilder.NAME, in -> new LateInteractionRescorerBuilder(in, () -> embedder),
            parser -> LateInteractionRescorerBuilder.fromXContent(parser, () -> embedder)));
    }

    @Override
    public void close() throws IOException {
        if (embedder != null) {
            embedder.close();
        }
    }
}
