package io.embedder.rest;

import io.embedder.action.StatsAction;
import org.opensearch.core.common.Strings;
import org.opensearch.rest.BaseRestHandler;
import org.opensearch.rest.RestRequest;
import org.opensearch.rest.action.RestActions;
import org.opensearch.transport.client.node.NodeClient;

import java.util.List;

/**
 * {@code GET _plugins/_embedder/stats[/{model}]}: every node's per-model counters and their cluster-wide sums;
 * {@code GET _plugins/_embedder/_nodes/{nodeId}/stats[/{model}]}: the same for some nodes ({@code _local}, ids, names).
 */
public class RestStatsAction extends BaseRestHandler {

    @Override
    public String getName() {
        return "embedder_stats";
    }

    @Override
    public List<Route> routes() {
        return List.of(new Route(RestRequest.Method.GET, "/_plugins/_embedder/stats"),
            new Route(RestRequest.Method.GET, "/_plugins/_embedder/stats/{model}"),
            new Route(RestRequest.Method.GET, "/_plugins/_embedder/_nodes/{nodeId}/stats"),
            new Route(RestRequest.Method.GET, "/_plugins/_embedder/_nodes/{nodeId}/stats/{model}"));
    }

    @Override
    protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
        StatsAction.Request stats = new StatsAction.Request(request.param("model"), Strings.splitStringByCommaToArray(request.param("nodeId")));
        return channel -> client.execute(StatsAction.INSTANCE, stats, new RestActions.NodesResponseRestListener<>(channel));
    }
}
