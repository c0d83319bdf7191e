package io.embedder.query;

import io.embedder.core.Embedder;
import io.embedder.mapper.LateInteractionFieldMapper;
import org.apache.lucene.search.MatchNoDocsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.util.SetOnce;
import org.opensearch.action.IndicesRequest;
import org.opensearch.core.ParseField;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.common.ParsingException;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.query.AbstractQueryBuilder;
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.index.query.QueryCoordinatorContext;
import org.opensearch.index.query.QueryRewriteContext;
import org.opensearch.index.query.QueryShardContext;
import org.opensearch.index.query.Rewriteable;

import java.io.IOException;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * {@code {"late_interaction": {"<field>": {"query_text": "..." | "query_vectors": [[...], ...], "filter": {...}}}}}: scores
 * the documents with token vectors in a {@code late_interaction} field by MaxSim (see {@link MaxSimQuery} for the score).
 * A text is embedded once per search on the coordinating node with the field's model and the query role; the
 * resulting vectors travel to the shards. A brute-force scan over the matching documents: use it for small or filtered
 * sets, and the {@code late_interaction} rescorer over a first stage otherwise.
 */
public final class LateInteractionQueryBuilder extends AbstractQueryBuilder<LateInteractionQueryBuilder> {

    public static final String NAME = "late_interaction";
    static final ParseField QUERY_TEXT = new ParseField("query_text");
    static final ParseField QUERY_VECTORS = new ParseField("query_vectors");
    static final ParseField FILTER = new ParseField("filter");
    static final ParseField MODEL = new ParseField("model");

    private final Supplier<Embedder> embedder;
    private final String fieldName;
    private final String queryText;
    private final float[][] queryVectors;
    private final QueryBuilder filter;
    private final String model;
    /** Set by the coordinator's async action; null unless this builder waits for its text's embedding. */
    private final SetOnce<float[][]> pending;

    LateInteractionQueryBuilder(Supplier<Embedder> embedder, String fieldName, String queryText, float[][] queryVectors, QueryBuilder filter,
                                String model, SetOnce<float[][]> pending) {
        this.embedder = embedder;
        this.fieldName = fieldName;
        this.queryText = queryText;
        this.queryVectors = queryVectors;
        this.filter = filter;
        this.model = model;
        this.pending = pending;
        if (fieldName == null || fieldName.isEmpty()) {
            throw new IllegalArgumentException("[" + NAME + "] requires a field name");
        }
        if ((queryText == null) == (queryVectors == null)) {
            throw new IllegalArgumentException("[" + NAME + "] on field [" + fieldName + "] needs exactly one of [query_text] and [query_vectors]");
        }
        if (queryText != null && queryText.isBlank()) {
            throw new IllegalArgumentException("[" + NAME + "] [query_text] of field [" + fieldName + "] must not be blank");
        }
    }

    public LateInteractionQueryBuilder(StreamInput in, Supplier<Embedder> embedder) throws IOException {
        super(in);
        this.embedder = embedder;
        this.fieldName = in.readString();
        this.queryText = in.readOptionalString();
        this.queryVectors = in.readBoolean() ? QueryVectors.read(in) : null;
        this.filter = in.readOptionalNamedWriteable(QueryBuilder.class);
        this.model = in.readOptionalString();
        this.pending = null;
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        if (pending != null) {
            throw new IllegalStateException("[" + NAME + "] cannot be sent while its embedding is pending: rewrite it first");
        }
        out.writeString(fieldName);
        out.writeOptionalString(queryText);
        out.writeBoolean(queryVectors != null);
        if (queryVectors != null) {
            QueryVectors.write(out, queryVectors);
        }
        out.writeOptionalNamedWriteable(filter);
        out.writeOptionalString(model);
    }

    public String fieldName() {
        return fieldName;
    }

    public String queryText() {
        return queryText;
    }

    public float[][] queryVectors() {
        return queryVectors;
    }

    @Override
    public String getWriteableName() {
        return NAME;
    }

    @Override
    protected void doXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject(NAME).startObject(fieldName);
        if (queryText != null) {
            builder.field(QUERY_TEXT.getPreferredName(), queryText);
        }
        if (queryVectors != null) {
            QueryVectors.toXContent(builder, QUERY_VECTORS.getPreferredName(), queryVectors);
        }
        if (filter != null) {
            builder.field(FILTER.getPreferredName(), filter);
        }
        if (model != null) {
            builder.field(MODEL.getPreferredName(), model);
        }
        printBoostAndQueryName(builder);
        builder.endObject().endObject();
    }

    @Override
    protected QueryBuilder doRewrite(QueryRewriteContext context) throws IOException {
        if (pending != null) {
            float[][] vectors = pending.get();
            return vectors == null ? this : copy(null, vectors, filter, null);
        }
        if (queryVectors != null) {
            QueryBuilder rewrittenFilter = filter == null ? null : Rewriteable.rewrite(filter, context);
            return rewrittenFilter == filter ? this : copy(null, queryVectors, rewrittenFilter, null);
        }
        QueryShardContext shard = context.convertToShardContext();
        if (shard != null) {
            throw new IllegalStateException("[" + NAME + "] reached shard [" + shard.index().getName() + "] without being embedded: "
                + "its text is embedded once per search on the coordinating node");
        }
        QueryCoordinatorContext coordinator = context.convertToCoordinatorContext();
        IndicesRequest request = coordinator == null ? null : coordinator.getSearchRequest();
        SetOnce<float[][]> embedded = new SetOnce<>();
        context.registerAsyncAction((client, listener) -> TokenQueryEmbedding.embed(client, embedder, request, NAME, fieldName,
            model, queryText, ActionListener.wrap(v -> {
                embedded.set(v);
                listener.onResponse(null);
            }, listener::onFailure)));
        return copy(queryText, null, filter, embedded);
    }

    private LateInteractionQueryBuilder copy(String text, float[][] vectors, QueryBuilder filter, SetOnce<float[][]> pending) {
        LateInteractionQueryBuilder copy = new LateInteractionQueryBuilder(embedder, fieldName, text, vectors, filter, model, pending);
        copy.boost(boost).queryName(queryName);
        return copy;
    }

    @Override
    protected Query doToQuery(QueryShardContext context) throws IOException {
        if (queryVectors == null) {
            throw new IllegalStateException("[" + NAME + "] must be embedded before it runs");
        }
        MappedFieldType type = context.fieldMapper(fieldName);
        if (type == null) {
            return new MatchNoDocsQuery("field [" + fieldName + "] is not mapped");
        }
        LateInteractionFieldMapper.FieldType field = LateInteractionFields.require(NAME, type, queryVectors);
        return new MaxSimQuery(fieldName, queryVectors, field.elementType(), filter == null ? null : filter.toQuery(context));
    }

    @Override
    protected boolean doEquals(LateInteractionQueryBuilder other) {
        return fieldName.equals(other.fieldName) && Objects.equals(queryText, other.queryText) && Arrays.deepEquals(queryVectors, other.queryVectors)
            && Objects.equals(filter, other.filter) && Objects.equals(model, other.model) && (pending == null) == (other.pending == null);
    }

    @Override
    protected int doHashCode() {
        return Objects.hash(fieldName, queryText, Arrays.deepHashCode(queryVectors), filter, model, pending == null);
    }

    /** Parses {@code {"<field>": {...}}} (the object inside {@code late_interaction}). */
    public static LateInteractionQueryBuilder fromXContent(XContentParser parser, Supplier<Embedder> embedder) throws IOException {
        String field = null;
        String text = null;
        float[][] vectors = null;
        QueryBuilder filter = null;
        String model = null;
        float boost = DEFAULT_BOOST;
        String queryName = null;
        XContentParser.Token token;
        while ((token = parser.nextToken()) != XContentParser.Token.END_OBJECT) {
            if (token != XContentParser.Token.FIELD_NAME) {
                throw new ParsingException(parser.getTokenLocation(), "[" + NAME + "] expects {\"<field>\": {...}}");
            }
            if (field != null) {
                throw new ParsingException(parser.getTokenLocation(), "[" + NAME + "] takes one field, got [" + field + "] and ["
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
                } else if (QUERY_VECTORS.match(current, parser.getDeprecationHandler())) {
                    try {
                        vectors = QueryVectors.parse(parser, NAME, field);
                    } catch (IllegalArgumentException e) {
                        throw new ParsingException(parser.getTokenLocation(), e.getMessage());
                    }
                } else if (token.isValue() && QUERY_TEXT.match(current, parser.getDeprecationHandler())) {
                    text = parser.text();
                } else if (token.isValue() && MODEL.match(current, parser.getDeprecationHandler())) {
                    model = parser.text();
                } else if (token.isValue() && BOOST_FIELD.match(current, parser.getDeprecationHandler())) {
                    boost = parser.floatValue();
                } else if (token.isValue() && NAME_FIELD.match(current, parser.getDeprecationHandler())) {
                    queryName = parser.text();
                } else {
                    throw new ParsingException(parser.getTokenLocation(), "[" + NAME + "] does not support [" + current + "]; it takes "
                        + "[query_text, query_vectors, filter, model, boost, _name]");
                }
            }
        }
        if (field == null) {
            throw new ParsingException(parser.getTokenLocation(), "[" + NAME + "] requires a field: {\"<field>\": {\"query_text\": ...}}");
        }
        try {
            LateInteractionQueryBuilder builder = new LateInteractionQueryBuilder(embedder, field, text, vectors, filter, model, null);
            builder.boost(boost).queryName(queryName);
            return builder;
        } catch (IllegalArgumentException e) {
            throw new ParsingException(parser.getTokenLocation(), e.getMessage());
        }
    }
}
