package io.embedder.query;

import io.embedder.core.EmbedParams;
import io.embedder.core.Embedder;
import io.embedder.core.Role;
import io.embedder.core.Task;
import io.embedder.core.runtime.Truncation;
import io.embedder.plugin.EmbedderSettings;
import io.embedder.action.Errors;
import io.embedder.meta.FieldEmbedding;
import org.apache.lucene.search.Query;
import org.apache.lucene.util.SetOnce;
import org.opensearch.action.IndicesRequest;
import org.opensearch.action.admin.indices.mapping.get.GetMappingsRequest;
import org.opensearch.cluster.metadata.MappingMetadata;
import org.opensearch.core.ParseField;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.common.ParsingException;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.query.AbstractQueryBuilder;
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.index.query.QueryCoordinatorContext;
import org.opensearch.index.query.QueryRewriteContext;
import org.opensearch.index.query.QueryShardContext;
import org.opensearch.transport.client.Client;

import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * {@code {"text_knn": {"<vector field>": {"query_text": "...", "k": 10}}}}: embeds the text once per search on the
 * coordinating node (an async action of the rewrite phase) with the model and dimensions the field's index remembers
 * in its mapping {@code _meta} and the model's query prompt, then rewrites into the k-NN plugin's {@code knn} query.
 */
public final class TextKnnQueryBuilder extends AbstractQueryBuilder<TextKnnQueryBuilder> {

    public static final String NAME = "text_knn";
    static final ParseField QUERY_TEXT = new ParseField("query_text");
    static final ParseField K = new ParseField("k");
    static final ParseField FILTER = new ParseField("filter");
    static final ParseField MIN_SCORE = new ParseField("min_score");
    static final ParseField MAX_DISTANCE = new ParseField("max_distance");
    static final ParseField MODEL = new ParseField("model");
    static final ParseField DIMENSIONS = new ParseField("dimensions");
    static final int MAX_K = 10_000;

    private final Supplier<Embedder> embedder;
    private final String fieldName;
    private final String queryText;
    private final Integer k;
    private final QueryBuilder filter;
    private final Float minScore;
    private final Float maxDistance;
    private final String model;
    private final Integer dimensions;
    /** Set by the coordinator's async action; null until this builder has been rewritten once. */
    private final SetOnce<float[]> vector;

    TextKnnQueryBuilder(Supplier<Embedder> embedder, String fieldName, String queryText, Integer k, QueryBuilder filter, Float minScore,
                        Float maxDistance, String model, Integer dimensions, SetOnce<float[]> vector) {
        this.embedder = embedder;
        this.fieldName = fieldName;
        this.queryText = queryText;
        this.k = k;
        this.filter = filter;
        this.minScore = minScore;
        this.maxDistance = maxDistance;
        this.model = model;
        this.dimensions = dimensions;
        this.vector = vector;
        validate();
    }

    public TextKnnQueryBuilder(StreamInput in, Supplier<Embedder> embedder) throws IOException {
        super(in);
        this.embedder = embedder;
        this.fieldName = in.readString();
        this.queryText = in.readString();
        this.k = in.readOptionalVInt();
        this.filter = in.readOptionalNamedWriteable(QueryBuilder.class);
        this.minScore = in.readOptionalFloat();
        this.maxDistance = in.readOptionalFloat();
        this.model = in.readOptionalString();
        this.dimensions = in.readOptionalVInt();
        this.vector = null;
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        if (vector != null) {
            // only an un-rewritten query travels; once embedded it becomes a knn query
            throw new IllegalStateException("[" + NAME + "] cannot be sent while its embedding is pending: rewrite it first");
        }
        out.writeString(fieldName);
        out.writeString(queryText);
        out.writeOptionalVInt(k);
        out.writeOptionalNamedWriteable(filter);
        out.writeOptionalFloat(minScore);
        out.writeOptionalFloat(maxDistance);
        out.writeOptionalString(model);
        out.writeOptionalVInt(dimensions);
    }

    private void validate() {
        if (fieldName == null || fieldName.isEmpty()) {
            throw new IllegalArgumentException("[" + NAME + "] requires a vector field name");
        }
        if (queryText == null || queryText.isBlank()) {
            throw new IllegalArgumentException("[" + NAME + "] requires a non-blank [query_text] for field [" + fieldName + "]");
        }
        int modes = (k != null ? 1 : 0) + (minScore != null ? 1 : 0) + (maxDistance != null ? 1 : 0);
        if (modes != 1) {
            throw new IllegalArgumentException("[" + NAME + "] on field [" + fieldName + "] needs exactly one of [k], [min_score], [max_distance]"
                + (modes == 0 ? "" : "; got " + modes));
        }
        if (k != null && (k < 1 || k > MAX_K)) {
            throw new IllegalArgumentException("[" + NAME + "] [k] must be between 1 and " + MAX_K + ", got [" + k + "]");
        }
        if (dimensions != null && dimensions < 1) {
            throw new IllegalArgumentException("[" + NAME + "] [dimensions] must be a positive integer, got [" + dimensions + "]");
        }
    }

    public String fieldName() {
        return fieldName;
    }

    public String queryText() {
        return queryText;
    }

    public Integer k() {
        return k;
    }

    public QueryBuilder filter() {
        return filter;
    }

    public Float minScore() {
        return minScore;
    }

    public Float maxDistance() {
        return maxDistance;
    }

    public String model() {
        return model;
    }

    public Integer dimensions() {
        return dimensions;
    }

    @Override
    public String getWriteableName() {
        return NAME;
    }

    @Override
    protected void doXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject(NAME).startObject(fieldName);
        builder.field(QUERY_TEXT.getPreferredName(), queryText);
        if (k != null) {
            builder.field(K.getPreferredName(), k);
        }
        if (minScore != null) {
            builder.field(MIN_SCORE.getPreferredName(), minScore);
        }
        if (maxDistance != null) {
            builder.field(MAX_DISTANCE.getPreferredName(), maxDistance);
        }
        if (filter != null) {
            builder.field(FILTER.getPreferredName(), filter);
        }
        if (model != null) {
            builder.field(MODEL.getPreferredName(), model);
        }
        if (dimensions != null) {
            builder.field(DIMENSIONS.getPreferredName(), dimensions);
        }
        printBoostAndQueryName(builder);
        builder.endObject().endObject();
    }

    @Override
    protected QueryBuilder doRewrite(QueryRewriteContext context) throws IOException {
        if (vector != null) {
            float[] v = vector.get();
            return v == null ? this : KnnQueries.knn(context.getXContentRegistry(), this, v);
        }
        QueryShardContext shard = context.convertToShardContext();
        if (shard != null) {
            throw new IllegalStateException("[" + NAME + "] reached shard [" + shard.index().getName() + "] without being embedded: "
                + "it is embedded once per search on the coordinating node");
        }
        KnnQueries.requireAvailable(context.getXContentRegistry());
        QueryCoordinatorContext coordinator = context.convertToCoordinatorContext();
        IndicesRequest request = coordinator == null ? null : coordinator.getSearchRequest();
        SetOnce<float[]> embedded = new SetOnce<>();
        context.registerAsyncAction((client, listener) -> fieldEmbedding(client, request, ActionListener.wrap(
            settings -> embed(client, settings, embedded, listener), listener::onFailure)));
        TextKnnQueryBuilder pending = new TextKnnQueryBuilder(embedder, fieldName, queryText, k, filter, minScore, maxDistance, model,
            dimensions, embedded);
        pending.boost(boost).queryName(queryName);
        return pending;
    }

    private void embed(Client client, FieldEmbedding settings, SetOnce<float[]> embedded, ActionListener<?> listener) {
        embedder.get().submit(settings.model(), client.threadPool().executor(EmbedderSettings.THREAD_POOL), () -> {
            try {
                EmbedParams params = new EmbedParams(List.of(queryText), Task.EMBED, Role.QUERY, settings.normalize(), settings.dimensions(),
                    Truncation.MODEL_DEFAULT);
                embedded.set(embedder.get().embed(settings.model(), params).vectors().get(0));
                listener.onResponse(null);
            } catch (Exception e) {
                listener.onFailure(Errors.toOpenSearch(e));
            }
        });
    }

    /** How the searched indices remember the field was embedded (model, dimensions, normalize), checked against the query's own. */
    private void fieldEmbedding(Client client, IndicesRequest request, ActionListener<FieldEmbedding> listener) {
        if (request == null) {
            listener.onResponse(fromQueryOnly(List.of()));
            return;
        }
        GetMappingsRequest mappings = new GetMappingsRequest().indices(request.indices()).indicesOptions(request.indicesOptions()).local(true);
        client.admin().indices().getMappings(mappings, ActionListener.wrap(response -> {
            Map<String, FieldEmbedding> byIndex = new TreeMap<>();
            for (Map.Entry<String, MappingMetadata> e : response.mappings().entrySet()) {
                FieldEmbedding fe = FieldEmbedding.fromMapping(e.getKey(), fieldName, e.getValue() == null ? null : e.getValue().sourceAsMap());
                if (fe != null) {
                    byIndex.put(e.getKey(), fe);
                }
            }
            listener.onResponse(reconcile(byIndex, response.mappings().keySet().stream().sorted().toList()));
        }, listener::onFailure));
    }

    FieldEmbedding reconcile(Map<String, FieldEmbedding> byIndex, List<String> indices) {
        if (byIndex.isEmpty()) {
            return fromQueryOnly(indices);
        }
        Map<FieldEmbedding, String> distinct = new LinkedHashMap<>();
        byIndex.forEach((index, fe) -> distinct.putIfAbsent(fe, index));
        if (distinct.size() > 1) {
            StringBuilder sb = new StringBuilder("[" + NAME + "] field [" + fieldName + "] is embedded differently across the searched indices:");
            distinct.forEach((fe, index) -> sb.append(" index [").append(index).append("] ").append(fe.describe()).append(";"));
            throw new IllegalArgumentException(sb.append(" search them separately").toString());
        }
        Map.Entry<FieldEmbedding, String> only = distinct.entrySet().iterator().next();
        FieldEmbedding remembered = only.getKey();
        String where = "index [" + only.getValue() + "] _meta.embedder.fields." + fieldName;
        if (model != null && !model.equals(remembered.model())) {
            throw new IllegalArgumentException("[" + NAME + "] [model] [" + model + "] does not match model [" + remembered.model()
                + "] of field [" + fieldName + "] (" + where + "): omit [model] or use [" + remembered.model() + "]");
        }
        if (dimensions != null && !dimensions.equals(remembered.dimensions())) {
            throw new IllegalArgumentException("[" + NAME + "] [dimensions] [" + dimensions + "] does not match dimensions ["
                + (remembered.dimensions() == null ? "full" : remembered.dimensions()) + "] of field [" + fieldName + "] (" + where
                + "): omit [dimensions]");
        }
        return remembered;
    }

    private FieldEmbedding fromQueryOnly(List<String> indices) {
        if (model == null) {
            throw new IllegalArgumentException("[" + NAME + "] does not know how field [" + fieldName + "] was embedded: no index "
                + (indices.isEmpty() ? "" : indices + " ") + "has _meta.embedder.fields." + fieldName + ".model in its mapping; "
                + "add it to the mapping or give [model] in the query");
        }
        return new FieldEmbedding(model, dimensions);
    }

    @Override
    protected Query doToQuery(QueryShardContext context) {
        throw new IllegalStateException("[" + NAME + "] must be rewritten into a [knn] query before it runs");
    }

    @Override
    protected boolean doEquals(TextKnnQueryBuilder other) {
        return fieldName.equals(other.fieldName) && queryText.equals(other.queryText) && Objects.equals(k, other.k)
            && Objects.equals(filter, other.filter) && Objects.equals(minScore, other.minScore) && Objects.equals(maxDistance, other.maxDistance)
            && Objects.equals(model, other.model) && Objects.equals(dimensions, other.dimensions)
            && Arrays.equals(vector == null ? null : vector.get(), other.vector == null ? null : other.vector.get())
            && (vector == null) == (other.vector == null);
    }

    @Override
    protected int doHashCode() {
        return Objects.hash(fieldName, queryText, k, filter, minScore, maxDistance, model, dimensions, vector == null);
    }

    /** Parses {@code {"<field>": {"query_text": ..., "k": ..., ...}}} (the object inside {@code text_knn}). */
    public static TextKnnQueryBuilder fromXContent(XContentParser parser, Supplier<Embedder> embedder) throws IOException {
        String field = null;
        String text = null;
        Integer k = null;
        QueryBuilder filter = null;
        Float minScore = null;
        Float maxDistance = null;
        String model = null;
        Integer dimensions = null;
        float boost = DEFAULT_BOOST;
        String queryName = null;
        XContentParser.Token token;
        while ((token = parser.nextToken()) != XContentParser.Token.END_OBJECT) {
            if (token != XContentParser.Token.FIELD_NAME) {
                throw new ParsingException(parser.getTokenLocation(), "[" + NAME + "] expects {\"<vector field>\": {...}}");
            }
            if (field != null) {
                throw new ParsingException(parser.getTokenLocation(), "[" + NAME + "] takes one vector field, got [" + field + "] and ["
                    + parser.currentName() + "]");
            }
            field = parser.currentName();
            if (parser.nextToken() != XContentParser.Token.START_OBJECT) {
                throw new ParsingException(parser.getTokenLocation(), "[" + NAME + "] field [" + field + "] must be an object");
            }
            String current = null;
            while ((token = parser.nextToken()) != XContentParser.Token.END_OBJECT) {
                if (token == XContentParser.Token.FIELD_NAME) {
                    current = parser.currentName();
                } else if (FILTER.match(current, parser.getDeprecationHandler())) {
                    filter = parseInnerQueryBuilder(parser);
                } else if (token.isValue()) {
                    if (QUERY_TEXT.match(current, parser.getDeprecationHandler())) {
                        text = parser.text();
                    } else if (K.match(current, parser.getDeprecationHandler())) {
                        k = parser.intValue(false);
                    } else if (MIN_SCORE.match(current, parser.getDeprecationHandler())) {
                        minScore = parser.floatValue(false);
                    } else if (MAX_DISTANCE.match(current, parser.getDeprecationHandler())) {
                        maxDistance = parser.floatValue(false);
                    } else if (MODEL.match(current, parser.getDeprecationHandler())) {
                        model = parser.text();
                    } else if (DIMENSIONS.match(current, parser.getDeprecationHandler())) {
                        dimensions = parser.intValue(false);
                    } else if (BOOST_FIELD.match(current, parser.getDeprecationHandler())) {
                        boost = parser.floatValue();
                    } else if (NAME_FIELD.match(current, parser.getDeprecationHandler())) {
                        queryName = parser.text();
                    } else {
                        throw unknown(parser, current);
                    }
                } else {
                    throw unknown(parser, current);
                }
            }
        }
        if (field == null) {
            throw new ParsingException(parser.getTokenLocation(), "[" + NAME + "] requires a vector field: {\"<field>\": {\"query_text\": ...}}");
        }
        try {
            TextKnnQueryBuilder builder = new TextKnnQueryBuilder(embedder, field, text, k, filter, minScore, maxDistance, model, dimensions, null);
            builder.boost(boost).queryName(queryName);
            return builder;
        } catch (IllegalArgumentException e) {
            throw new ParsingException(parser.getTokenLocation(), e.getMessage());
        }
    }

    private static ParsingException unknown(XContentParser parser, String key) {
        return new ParsingException(parser.getTokenLocation(), "[" + NAME + "] does not support [" + key + "]; it takes [query_text, k, "
            + "min_score, max_distance, filter, model, dimensions, boost, _name]");
    }
}
