package io.embedder.rest;

import io.embedder.core.EmbedParams;
import io.embedder.core.Embedder;
import io.embedder.core.Embeddings;
import io.embedder.core.Task;
import io.embedder.plugin.EmbedderSettings;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.rest.BaseRestHandler;
import org.opensearch.rest.BytesRestResponse;
import org.opensearch.rest.RestChannel;
import org.opensearch.rest.RestRequest;
import org.opensearch.transport.client.node.NodeClient;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** {@code POST _plugins/_embedder/models/{name}/_embed}: texts in, vectors out, in input order. */
public class RestEmbedAction extends BaseRestHandler {

    private final Supplier<Embedder> embedder;

    public RestEmbedAction(Supplier<Embedder> embedder) {
        this.embedder = embedder;
    }

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
        return channel -> {
            try {
                client.threadPool().executor(EmbedderSettings.THREAD_POOL).execute(() -> respond(channel, model, body));
            } catch (Exception e) {
                channel.sendResponse(new BytesRestResponse(channel, e));
            }
        };
    }

    private void respond(RestChannel channel, String model, Map<String, Object> body) {
        try {
            Embeddings result = embedder.get().embed(model, EmbedParams.parse(body));
            XContentBuilder builder = channel.newBuilder();
            builder.startObject().field("model", result.model()).field("task", result.task().id()).field("dimensions", result.dimensions());
            builder.startArray("embeddings");
            if (result.task() == Task.EMBED) {
                for (float[] v : result.vectors()) {
                    writeVector(builder, v);
                }
            } else {
                for (float[][] tokens : result.tokens()) {
                    builder.startArray();
                    for (float[] v : tokens) {
                        writeVector(builder, v);
                    }
                    builder.endArray();
                }
            }
            builder.endArray().endObject();
            channel.sendResponse(new BytesRestResponse(RestStatus.OK, builder));
        } catch (Exception e) {
            try {
                channel.sendResponse(new BytesRestResponse(channel, Errors.toOpenSearch(e)));
            } catch (IOException io) {
                e.addSuppressed(io);
                channel.sendResponse(new BytesRestResponse(RestStatus.INTERNAL_SERVER_ERROR, e.toString()));
            }
        }
    }

    private static void writeVector(XContentBuilder builder, float[] v) throws IOException {
        builder.startArray();
        for (float x : v) {
            builder.value(x);
        }
        builder.endArray();
    }
}
