package io.embedder.rest;

import io.embedder.action.ModelLifecycleAction;
import org.opensearch.ExceptionsHelper;
import org.opensearch.core.common.Strings;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.rest.BaseRestHandler;
import org.opensearch.rest.BytesRestResponse;
import org.opensearch.rest.RestChannel;
import org.opensearch.rest.RestRequest;
import org.opensearch.rest.RestResponse;
import org.opensearch.rest.action.RestActions;
import org.opensearch.rest.action.RestBuilderListener;
import org.opensearch.transport.client.node.NodeClient;

import java.util.List;

/**
 * {@code POST _plugins/_embedder/models/{name}/_load} and {@code .../_unload}, on every node, or on some with
 * {@code _plugins/_embedder/_nodes/{nodeId}/models/{name}/_load}. 200 with each node's outcome when at least one node
 * succeeded (failed nodes listed under {@code _nodes.failures}); when every node failed, the first node's error and status.
 */
public class RestModelLifecycleAction extends BaseRestHandler {

    @Override
    public String getName() {
        return "embedder_model_lifecycle";
    }

    @Override
    public List<Route> routes() {
        return List.of(new Route(RestRequest.Method.POST, "/_plugins/_embedder/models/{name}/_load"),
            new Route(RestRequest.Method.POST, "/_plugins/_embedder/models/{name}/_unload"),
            new Route(RestRequest.Method.POST, "/_plugins/_embedder/_nodes/{nodeId}/models/{name}/_load"),
            new Route(RestRequest.Method.POST, "/_plugins/_embedder/_nodes/{nodeId}/models/{name}/_unload"));
    }

    @Override
    protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
        ModelLifecycleAction action = request.path().endsWith("/_unload") ? ModelLifecycleAction.UNLOAD : ModelLifecycleAction.LOAD;
        ModelLifecycleAction.Request lifecycle = new ModelLifecycleAction.Request(request.param("name"),
            Strings.splitStringByCommaToArray(request.param("nodeId")));
        return channel -> client.execute(action, lifecycle, new Listener(channel));
    }

    private static final class Listener extends RestBuilderListener<ModelLifecycleAction.Response> {
        Listener(RestChannel channel) {
            super(channel);
        }

        @Override
        public RestResponse buildResponse(ModelLifecycleAction.Response response, XContentBuilder builder) throws Exception {
            if (response.getNodes().isEmpty() && response.hasFailures()) {
                Throwable cause = ExceptionsHelper.unwrapCause(response.failures().get(0).getCause());
                return new BytesRestResponse(channel, cause instanceof Exception e ? e : response.failures().get(0));
            }
            return RestActions.nodesResponse(builder, channel.request(), response);
        }
    }
}
