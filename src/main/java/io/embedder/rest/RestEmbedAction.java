package io.embedder.rest;

import io.embedder.action.EmbedAction;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.rest.BaseRestHandler;
import org.opensearch.rest.RestRequest;
import org.opensearch.rest.action.RestToXContentListener;
import org.opensearch.transport.client.node.NodeClient;

import java.io.IOException;
import java.util.List;
import java.util.Map;

/** {@code POST _plugins/_embedder/models/{name}/_embed}: texts in, vectors out, in input order. */
public class RestEmbedAction extends BaseRestHandler {

    @Override
    public String getName() {
        return "embedder_embed";
    }

    @Override
    public List<Route> routes() {
        return List.of(new Route(RestRequest.Method.POST, "/_plugins/_embedder/models/{name}/_embed"));
    }

    @Override
    protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) throws IOException {
        String model = request.param("name");
        if (!request.hasContent()) {
            throw new IllegalArgumentException("request body is required: {\"texts\": [\"...\"]}");
        }
        Map<String, Object> body;
        try (XContentParser parser = request.contentParser()) {
            body = parser.map();
        }
        EmbedAction.Request embed = new EmbedAction.Request(model, body);
        return channel -> client.execute(EmbedAction.INSTANCE, embed, new RestToXContentListener<>(channel));
    }
}
