package io.embedder.query;

import io.embedder.action.Errors;
import io.embedder.core.EmbedParams;
import io.embedder.core.Embedder;
import io.embedder.core.Role;
import io.embedder.core.Task;
import io.embedder.core.runtime.Truncation;
import io.embedder.mapper.LateInteractionFieldMapper;
import io.embedder.plugin.EmbedderSettings;
import org.opensearch.action.IndicesRequest;
import org.opensearch.action.admin.indices.mapping.get.GetFieldMappingsRequest;
import org.opensearch.action.admin.indices.mapping.get.GetFieldMappingsResponse.FieldMappingMetadata;
import org.opensearch.core.action.ActionListener;
import org.opensearch.transport.client.Client;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Embeds a late-interaction query text once per search, on the coordinating node: the model is the one the searched
 * indices' {@code late_interaction} field mapping names (or the request's {@code model}, which must then agree), the
 * role is {@code query}, the output one vector per token.
 */
public final class TokenQueryEmbedding {

    private TokenQueryEmbedding() {}

    /**
     * @param owner    what asks, for messages ({@code [late_interaction]} query or rescorer)
     * @param request  the search request (its indices), or null when unknown
     * @param model    the model the request names, or null
     */
    public static void embed(Client client, Supplier<Embedder> embedder, IndicesRequest request, String owner, String field, String model,
                             String text, ActionListener<float[][]> listener) {
        ActionListener<String> withModel = ActionListener.wrap(resolved -> client.threadPool().executor(EmbedderSettings.THREAD_POOL).execute(() -> {
            try {
                EmbedParams params = new EmbedParams(List.of(text), Task.TOKEN_EMBED, Role.QUERY, null, null, Truncation.MODEL_DEFAULT);
                listener.onResponse(embedder.get().embed(resolved, params).tokens().get(0));
            } catch (Exception e) {
                listener.onFailure(Errors.toOpenSearch(e));
            }
        }), listener::onFailure);
        if (request == null) {
            withModel.onResponse(requireModel(owner, field, model, List.of()));
            return;
        }
        GetFieldMappingsRequest mappings = new GetFieldMappingsRequest().indices(request.indices()).indicesOptions(request.indicesOptions())
            .fields(field).local(true);
        client.admin().indices().getFieldMappings(mappings, ActionListener.wrap(response -> {
            Map<String, String> modelByIndex = new TreeMap<>();
            for (Map.Entry<String, Map<String, FieldMappingMetadata>> e : response.mappings().entrySet()) {
                FieldMappingMetadata fm = e.getValue().get(field);
                Object source = fm == null ? null : fm.sourceAsMap().values().stream().findFirst().orElse(null);
                if (source instanceof Map<?, ?> m && LateInteractionFieldMapper.CONTENT_TYPE.equals(m.get("type")) && m.get("model") instanceof String s) {
                    modelByIndex.put(e.getKey(), s);
                }
            }
            withModel.onResponse(reconcile(owner, field, model, modelByIndex, response.mappings().keySet().stream().sorted().toList()));
        }, listener::onFailure));
    }

    static String reconcile(String owner, String field, String model, Map<String, String> modelByIndex, List<String> indices) {
        if (modelByIndex.isEmpty()) {
            return requireModel(owner, field, model, indices);
        }
        if (modelByIndex.values().stream().distinct().count() > 1) {
            throw new IllegalArgumentException("[" + owner + "] field [" + field + "] was embedded with different models across the searched "
                + "indices " + modelByIndex + ": search them separately");
        }
        Map.Entry<String, String> first = modelByIndex.entrySet().iterator().next();
        if (model != null && !model.equals(first.getValue())) {
            throw new IllegalArgumentException("[" + owner + "] [model] [" + model + "] does not match model [" + first.getValue()
                + "] of field [" + field + "] in index [" + first.getKey() + "]: omit [model] or use [" + first.getValue() + "]");
        }
        return first.getValue();
    }

    private static String requireModel(String owner, String field, String model, List<String> indices) {
        if (model == null) {
            throw new IllegalArgumentException("[" + owner + "] does not know which model embedded field [" + field + "]: no searched index "
                + (indices.isEmpty() ? "" : indices + " ") + "maps it as [" + LateInteractionFieldMapper.CONTENT_TYPE
                + "] with a [model]; set [model] in the mapping or in the request, or give [query_vectors]");
        }
        return model;
    }
}
