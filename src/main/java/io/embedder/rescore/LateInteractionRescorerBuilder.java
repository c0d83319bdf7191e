package io.embedder.rescore;

import io.embedder.core.Embedder;
import io.embedder.mapper.LateInteractionFieldMapper;
import io.embedder.query.LateInteractionFields;
import io.embedder.query.QueryVectors;
import io.embedder.query.TokenQueryEmbedding;
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
import org.opensearch.index.query.QueryCoordinatorContext;
import org.opensearch.index.query.QueryRewriteContext;
import org.opensearch.index.query.QueryShardContext;
import org.opensearch.search.rescore.RescoreContext;
import org.opensearch.search.rescore.RescorerBuilder;

import java.io.IOException;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * {@code "rescore": {"window_size": 100, "late_interaction": {"field": "tokens", "query_text": "..." | "query_vectors": [[...]],
 * "query_weight": 0, "rescore_weight": 1}}}: reranks each shard's top hits by MaxSim (see {@link LateInteractionRescorer}).
 * A text is embedded once per search on the coordinating node with the field's model and the query role.
 */
public final class LateInteractionRescorerBuilder extends RescorerBuilder<LateInteractionRescorerBuilder> {

    public static final String NAME = "late_interaction";
    /** How messages name this rescorer. */
    static final String OWNER = "rescore.late_interaction";
    static final ParseField FIELD = new ParseField("field");
    static final ParseField QUERY_TEXT = new ParseField("query_text");
    static final ParseField QUERY_VECTORS = new ParseField("query_vectors");
    static final ParseField MODEL = new ParseField("model");
    static final ParseField QUERY_WEIGHT = new ParseField("query_weight");
    static final ParseField RESCORE_WEIGHT = new ParseField("rescore_weight");

    private final Supplier<Embedder> embedder;
    private final String field;
    private final String queryText;
    private final float[][] queryVectors;
    private final String model;
    private final float queryWeight;
    private final float rescoreWeight;
    private final SetOnce<float[][]> pending;

    LateInteractionRescorerBuilder(Supplier<Embedder> embedder, String field, String queryText, float[][] queryVectors, String model,
                                   float queryWeight, float rescoreWeight, SetOnce<float[][]> pending) {
        this.embedder = embedder;
        this.field = field;
        this.queryText = queryText;
        this.queryVectors = queryVectors;
        this.model = model;
        this.queryWeight = queryWeight;
        this.rescoreWeight = rescoreWeight;
        this.pending = pending;
        if (field == null || field.isEmpty()) {
            throw new IllegalArgumentException("[" + OWNER + "] requires [field]: a [" + LateInteractionFieldMapper.CONTENT_TYPE + "] field");
        }
        if ((queryText == null) == (queryVectors == null)) {
            throw new IllegalArgumentException("[" + OWNER + "] on field [" + field + "] needs exactly one of [query_text] and [query_vectors]");
        }
        if (queryText != null && queryText.isBlank()) {
            throw new IllegalArgumentException("[" + OWNER + "] [query_text] of field [" + field + "] must not be blank");
        }
        if (!Float.isFinite(queryWeight) || !Float.isFinite(rescoreWeight)) {
            throw new IllegalArgumentException("[" + OWNER + "] [query_weight] and [rescore_weight] must be finite, got [" + queryWeight + "] and ["
                + rescoreWeight + "]");
        }
    }

    public LateInteractionRescorerBuilder(StreamInput in, Supplier<Embedder> embedder) throws IOException {
        super(in);
        this.embedder = embedder;
        this.field = in.readString();
        this.queryText = in.readOptionalString();
        this.queryVectors = in.readBoolean() ? QueryVectors.read(in) : null;
        this.model = in.readOptionalString();
        this.queryWeight = in.readFloat();
        this.rescoreWeight = in.readFloat();
        this.pending = null;
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        if (pending != null) {
            throw new IllegalStateException("[" + OWNER + "] cannot be sent while its embedding is pending: rewrite it first");
        }
        out.writeString(field);
        out.writeOptionalString(queryText);
        out.writeBoolean(queryVectors != null);
        if (queryVectors != null) {
            QueryVectors.write(out, queryVectors);
        }
        out.writeOptionalString(model);
        out.writeFloat(queryWeight);
        out.writeFloat(rescoreWeight);
    }

    @Override
    public String getWriteableName() {
        return NAME;
    }

    @Override
    public RescorerBuilder<LateInteractionRescorerBuilder> rewrite(QueryRewriteContext ctx) throws IOException {
        if (pending != null) {
            float[][] vectors = pending.get();
            return vectors == null ? this : copy(null, vectors, null);
        }
        if (queryVectors != null) {
            return this;
        }
        QueryShardContext shard = ctx.convertToShardContext();
        if (shard != null) {
            throw new IllegalStateException("[" + OWNER + "] reached shard [" + shard.index().getName() + "] without being embedded: "
                + "its text is embedded once per search on the coordinating node");
        }
        QueryCoordinatorContext coordinator = ctx.convertToCoordinatorContext();
        IndicesRequest request = coordinator == null ? null : coordinator.getSearchRequest();
        SetOnce<float[][]> embedded = new SetOnce<>();
        ctx.registerAsyncAction((client, listener) -> TokenQueryEmbedding.embed(client, embedder, request, OWNER, field, model, queryText,
            ActionListener.wrap(v -> {
                embedded.set(v);
                listener.onResponse(null);
            }, listener::onFailure)));
        return copy(queryText, null, embedded);
    }

    private LateInteractionRescorerBuilder copy(String text, float[][] vectors, SetOnce<float[][]> pending) {
        LateInteractionRescorerBuilder copy = new LateInteractionRescorerBuilder(embedder, field, text, vectors, model, queryWeight, rescoreWeight,
            pending);
        if (windowSize() != null) {
            copy.windowSize(windowSize());
        }
        return copy;
    }

    @Override
    protected RescoreContext innerBuildContext(int windowSize, QueryShardContext context) {
        if (queryVectors == null) {
            throw new IllegalStateException("[" + OWNER + "] must be embedded before it runs");
        }
        MappedFieldType type = context.fieldMapper(field);
        if (type == null) {
            return new LateInteractionRescorer.Context(windowSize, null, null, queryVectors, queryWeight, rescoreWeight);
        }
        LateInteractionFieldMapper.FieldType li = LateInteractionFields.require(OWNER, type, queryVectors);
        return new LateInteractionRescorer.Context(windowSize, field, li.elementType(), queryVectors, queryWeight, rescoreWeight);
    }

    @Override
    protected void doXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject(NAME);
        builder.field(FIELD.getPreferredName(), field);
        if (queryText != null) {
            builder.field(QUERY_TEXT.getPreferredName(), queryText);
        }
        if (queryVectors != null) {
            QueryVectors.toXContent(builder, QUERY_VECTORS.getPreferredName(), queryVectors);
        }
        if (model != null) {
            builder.field(MODEL.getPreferredName(), model);
        }
        builder.field(QUERY_WEIGHT.getPreferredName(), queryWeight);
        builder.field(RESCORE_WEIGHT.getPreferredName(), rescoreWeight);
        builder.endObject();
    }

    /** Parses the object inside {@code "late_interaction"}. */
    public static LateInteractionRescorerBuilder fromXContent(XContentParser parser, Supplier<Embedder> embedder) throws IOException {
        String field = null;
        String text = null;
        float[][] vectors = null;
        String model = null;
        float queryWeight = 0f;
        float rescoreWeight = 1f;
        if (parser.currentToken() != XContentParser.Token.START_OBJECT && parser.nextToken() != XContentParser.Token.START_OBJECT) {
            throw new ParsingException(parser.getTokenLocation(), "[" + OWNER + "] must be an object");
        }
        String current = null;
        XContentParser.Token token;
        try {
            while ((token = parser.nextToken()) != XContentParser.Token.END_OBJECT) {
                if (token == XContentParser.Token.FIELD_NAME) {
                    current = parser.currentName();
                } else if (QUERY_VECTORS.match(current, parser.getDeprecationHandler())) {
                    vectors = QueryVectors.parse(parser, OWNER, field == null ? "?" : field);
                } else if (token.isValue() && FIELD.match(current, parser.getDeprecationHandler())) {
                    field = parser.text();
                } else if (token.isValue() && QUERY_TEXT.match(current, parser.getDeprecationHandler())) {
                    text = parser.text();
                } else if (token.isValue() && MODEL.match(current, parser.getDeprecationHandler())) {
                    model = parser.text();
                } else if (token.isValue() && QUERY_WEIGHT.match(current, parser.getDeprecationHandler())) {
                    queryWeight = parser.floatValue(false);
                } else if (token.isValue() && RESCORE_WEIGHT.match(current, parser.getDeprecationHandler())) {
                    rescoreWeight = parser.floatValue(false);
                } else {
                    throw new ParsingException(parser.getTokenLocation(), "[" + OWNER + "] does not support [" + current + "]; it takes "
                        + "[field, query_text, query_vectors, model, query_weight, rescore_weight]");
                }
            }
            return new LateInteractionRescorerBuilder(embedder, field, text, vectors, model, queryWeight, rescoreWeight, null);
        } catch (IllegalArgumentException e) {
            throw new ParsingException(parser.getTokenLocation(), e.getMessage());
        }
    }

    @Override
    public boolean equals(Object o) {
        if (!super.equals(o)) {
            return false;
        }
        LateInteractionRescorerBuilder other = (LateInteractionRescorerBuilder) o;
        return field.equals(other.field) && Objects.equals(queryText, other.queryText) && Arrays.deepEquals(queryVectors, other.queryVectors)
            && Objects.equals(model, other.model) && queryWeight == other.queryWeight && rescoreWeight == other.rescoreWeight
            && (pending == null) == (other.pending == null);
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), field, queryText, Arrays.deepHashCode(queryVectors), model, queryWeight, rescoreWeight);
    }
}
