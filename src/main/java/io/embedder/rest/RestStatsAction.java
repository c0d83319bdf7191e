package io.embedder.rest;

import io.embedder.core.Embedder;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.rest.BaseRestHandler;
import org.opensearch.rest.BytesRestResponse;
import org.opensearch.rest.RestRequest;
import org.opensearch.transport.client.node.NodeClient;

import java.util.List;
import java.util.function.Supplier;

/** {@code GET _plugins/_embedder/stats}: this node's inference counters. */
public class RestStatsAction extends BaseRestHandler {

    private final Supplier<Embedder> embedder;

    public RestStatsAction(Supplier<Embedder> embedder) {
        this.embedder = embedder;
    }

    @Override
    public String getName() {
        return "embedder_stats";
    }

    @Override
    public List<Route> routes() {
        return List.of(new Route(RestRequest.Method.GET, "/_plugins/_embedder/stats"));
    }

    @Override
    protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
        return channel -> {
            Embedder e = embedder.get();
            XContentBuilder b = channel.newBuilder();
            b.startObject().field("inference_count", e.inferenceCount()).field("text_count", e.textCount());
            b.startArray("loaded_models");
            for (String name : e.modelNames()) {
                if (e.loadedModel(name).isPresent()) {
                    b.value(name);
                }
            }
            b.endArray().endObject();
            channel.sendResponse(new BytesRestResponse(RestStatus.OK, b));
        };
    }
}
