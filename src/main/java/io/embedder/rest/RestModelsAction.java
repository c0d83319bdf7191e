package io.embedder.rest;

import io.embedder.action.InfoAction;
import org.opensearch.rest.BaseRestHandler;
import org.opensearch.rest.RestRequest;
import org.opensearch.rest.action.RestToXContentListener;
import org.opensearch.transport.client.node.NodeClient;

import java.util.List;

/**
 * {@code GET _plugins/_embedder/models[/{name}]}: each model with its settings and their sources.
 */
public class RestModelsAction extends BaseRestHandler {

    @Override
    public String getName() {
        return "embedder_models";
    }

    @Override
    public List<Route> routes() {
        return List.of(new Route(RestRequest.Method.GET, "/_plugins/_embedder/models"),
            new Route(RestRequest.Method.GET, "/_plugins/_embedder/models/{name}"));
    }

    @Override
    protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
        InfoAction.Request info = new InfoAction.Request(request.param("name"));
        return channel -> client.execute(InfoAction.MODELS, info, new RestToXContentListener<>(channel));
    }
}
