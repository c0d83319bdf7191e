package io.embedder.rest;

import io.embedder.core.Embedder;
import io.embedder.core.EmbedderException;
import io.embedder.core.model.ModelSpec;
import io.embedder.core.model.Sourced;
import io.embedder.core.runtime.LoadedModel;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.rest.BaseRestHandler;
import org.opensearch.rest.BytesRestResponse;
import org.opensearch.rest.RestRequest;
import org.opensearch.transport.client.node.NodeClient;

import java.io.IOException;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * {@code GET _plugins/_embedder/models[/{name}]}: each model with its pooling, normalization, dimensions, token
 * limit and prompts as read from its files, and where each value came from. A model whose files are invalid is
 * listed with its error rather than failing the listing.
 */
public class RestModelsAction extends BaseRestHandler {

    private final Supplier<Embedder> embedder;
    private final String defaultModel;

    public RestModelsAction(Supplier<Embedder> embedder, String defaultModel) {
        this.embedder = embedder;
        this.defaultModel = defaultModel;
    }

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
        String name = request.param("name");
        return channel -> {
            try {
                Embedder e = embedder.get();
                XContentBuilder builder = channel.newBuilder();
                if (name != null) {
                    writeModel(builder, e, name, e.spec(name));
                } else {
                    builder.startObject().field("default_model", defaultModel).field("models_dir", e.modelsDir().toString());
                    builder.startArray("models");
                    for (String model : e.modelNames()) {
                        ModelSpec spec;
                        try {
                            spec = e.spec(model);
                        } catch (EmbedderException invalid) {
                            builder.startObject().field("name", model).field("error", invalid.getMessage()).endObject();
                            continue;
                        }
                        writeModel(builder, e, model, spec);
                    }
                    builder.endArray().endObject();
                }
                channel.sendResponse(new BytesRestResponse(RestStatus.OK, builder));
            } catch (Exception ex) {
                channel.sendResponse(new BytesRestResponse(channel, Errors.toOpenSearch(ex)));
            }
        };
    }

    private void writeModel(XContentBuilder b, Embedder e, String name, ModelSpec spec) throws IOException {
        Optional<LoadedModel> loaded = e.loadedModel(name);
        Sourced<Integer> dims = loaded.map(m -> Sourced.of(m.dimensions(), "onnx output " + spec.outputName())).orElse(spec.dimensions());
        b.startObject();
        b.field("name", name);
        b.field("default", name.equals(defaultModel));
        b.field("loaded", loaded.isPresent());
        b.field("pooling", spec.pooling().value().id());
        b.field("normalize", spec.normalize().value());
        b.field("dimensions", dims == null ? null : dims.value());
        b.field("max_tokens", spec.maxTokens().value());
        b.field("tokenizer_max_length", spec.tokenizerMaxLength());
        b.field("prompts", spec.prompts().value());
        b.field("default_prompt_name", spec.defaultPromptName());
        b.field("matryoshka_dimensions", spec.matryoshkaDimensions().value());
        b.field("padding_side", spec.paddingSide().value());
        b.field("onnx_file", e.modelsDir().resolve(name).relativize(spec.onnxFile()).toString());
        b.field("tokenizer_file", e.modelsDir().resolve(name).relativize(spec.tokenizerFile()).toString());
        b.startObject("sources");
        b.field("pooling", spec.pooling().source());
        b.field("normalize", spec.normalize().source());
        b.field("dimensions", dims == null ? "unknown until loaded" : dims.source());
        b.field("max_tokens", spec.maxTokens().source());
        b.field("prompts", spec.prompts().source());
        b.field("matryoshka_dimensions", spec.matryoshkaDimensions().source());
        b.field("padding_side", spec.paddingSide().source());
        b.endObject();
        b.endObject();
    }
}
