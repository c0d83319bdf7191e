package io.embedder.rest;

import io.embedder.action.InfoAction;
import org.opensearch.rest.BaseRestHandler;
import org.opensearch.rest.RestRequest;
import org.opensearch.rest.action.RestToXContentListener;
import org.opensearch.transport.client.node.NodeClient;

import java.util.List;

/**
 * {@code GET _plugins/_embedder/models[/{name}]}: each model with its settings and their sources;
 * {@code GET _plugins/_embedder/stats}: this node's inference counters.
 */
public class RestModelsAction extends BaseRestHandler {

    @Override
    public String getName() {
        return "embedder_models";
    }

    @Override
    public List<Route> routes() {
        return List.of(new Route(RestRequest.Method.GET, "/_plugins/_embedder/models"),
            new Route(RestRequest.Method.GET, "/_plugins/_embedder/models/{name}"),
            new Route(RestRequest.Method.GET, "/_plugins/_embedder/stats"));
    }

    @Override
    protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
        boolean stats = request.path().endsWith("/stats");
        InfoAction.Request info = new InfoAction.Request(stats ? null : request.param("name"));
        return channel -> client.execute(stats ? InfoAction.STATS : InfoAction.MODELS, info, new RestToXContentListener<>(channel));
    }
}
