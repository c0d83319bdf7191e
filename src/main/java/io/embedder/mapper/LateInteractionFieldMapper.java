package io.embedder.mapper;

import io.embedder.core.EmbedderException;
import io.embedder.core.lateinteraction.ElementType;
import io.embedder.core.lateinteraction.TokenVectors;
import org.apache.lucene.document.BinaryDocValuesField;
import org.apache.lucene.search.Query;
import org.apache.lucene.util.BytesRef;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.mapper.FieldMapper;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.mapper.MapperParsingException;
import org.opensearch.index.mapper.ParametrizedFieldMapper;
import org.opensearch.index.mapper.ParseContext;
import org.opensearch.index.mapper.SourceValueFetcher;
import org.opensearch.index.mapper.TextSearchInfo;
import org.opensearch.index.mapper.ValueFetcher;
import org.opensearch.index.query.QueryShardContext;
import org.opensearch.search.lookup.SearchLookup;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code late_interaction}: one document's token vectors (ColBERT-style), scored by MaxSim.
 * <pre>{@code "tokens": {"type": "late_interaction", "dims": 384, "element_type": "float", "model": "bge-small-en-v1.5",
 *            "max_vectors": 1024}}</pre>
 * The value is an array of 1 to {@code max_vectors} vectors of exactly {@code dims} finite numbers. It is stored as one
 * binary doc value per document in the {@link TokenVectors} layout ({@code float} is Lucene's
 * {@code LateInteractionField} layout; {@code byte} quantizes each vector to int8 with its own scale; {@code bit} keeps
 * the signs), so MaxSim reads a document's matrix in one piece. {@code model} names the model that produced the
 * vectors: a {@code late_interaction} query or rescorer with {@code query_text} embeds the text with it.
 */
public final class LateInteractionFieldMapper extends ParametrizedFieldMapper {

    public static final String CONTENT_TYPE = "late_interaction";
    /** Most dimensions a vector may have. */
    public static final int MAX_DIMS = 4096;
    /** Highest {@code max_vectors} a mapping may set. */
    public static final int MAX_VECTORS_LIMIT = 8192;
    /** {@code max_vectors} when the mapping does not set it: two windows of a 512-token model. */
    public static final int DEFAULT_MAX_VECTORS = 1024;

    private static LateInteractionFieldMapper toType(FieldMapper in) {
        return (LateInteractionFieldMapper) in;
    }

    public static final class Builder extends ParametrizedFieldMapper.Builder {
        final Parameter<Integer> dims = Parameter.intParam("dims", false, m -> toType(m).fieldType().dims(), 0).setValidator(d -> {
            if (d < 1 || d > MAX_DIMS) {
                throw new IllegalArgumentException("[dims] of a [" + CONTENT_TYPE + "] field must be between 1 and " + MAX_DIMS + ", got [" + d + "]");
            }
        });
        final Parameter<String> elementType = Parameter.stringParam("element_type", false, m -> toType(m).fieldType().elementType().id(),
            ElementType.FLOAT.id()).setValidator(t -> {
                try {
                    ElementType.fromId(t);
                } catch (EmbedderException e) {
                    throw new IllegalArgumentException("[element_type] of a [" + CONTENT_TYPE + "] field: " + e.getMessage());
                }
            });
        final Parameter<String> model = Parameter.stringParam("model", false, m -> toType(m).fieldType().model(), null).acceptsNull();
        final Parameter<Integer> maxVectors = Parameter.intParam("max_vectors", false, m -> toType(m).fieldType().maxVectors(),
            DEFAULT_MAX_VECTORS).setValidator(n -> {
                if (n < 1 || n > MAX_VECTORS_LIMIT) {
                    throw new IllegalArgumentException("[max_vectors] of a [" + CONTENT_TYPE + "] field must be between 1 and "
                        + MAX_VECTORS_LIMIT + ", got [" + n + "]");
                }
            });
        final Parameter<Map<String, String>> meta = Parameter.metaParam();

        public Builder(String name) {
            super(name);
        }

        @Override
        protected List<Parameter<?>> getParameters() {
            return List.of(dims, elementType, model, maxVectors, meta);
        }

        @Override
        public LateInteractionFieldMapper build(BuilderContext context) {
            ElementType type = ElementType.fromId(elementType.getValue());
            if (type == ElementType.BIT && dims.getValue() % 8 != 0) {
                throw new IllegalArgumentException("[dims] of a [" + CONTENT_TYPE + "] field with [element_type] [bit] must be a multiple "
                    + "of 8, got [" + dims.getValue() + "]");
            }
            return new LateInteractionFieldMapper(name, new FieldType(buildFullName(context), dims.getValue(), type, model.getValue(),
                maxVectors.getValue(), meta.getValue()), multiFieldsBuilder.build(this, context), copyTo.build());
        }
    }

    public static final TypeParser PARSER = new TypeParser((name, context) -> new Builder(name));

    public static final class FieldType extends MappedFieldType {
        private final int dims;
        private final ElementType elementType;
        private final String model;
        private final int maxVectors;

        public FieldType(String name, int dims, ElementType elementType, String model, int maxVectors, Map<String, String> meta) {
            super(name, false, false, true, TextSearchInfo.NONE, meta);
            this.dims = dims;
            this.elementType = elementType;
            this.model = model;
            this.maxVectors = maxVectors;
        }

        public int dims() {
            return dims;
        }

        public ElementType elementType() {
            return elementType;
        }

        /** The model that produced the vectors, or null when the mapping does not say. */
        public String model() {
            return model;
        }

        public int maxVectors() {
            return maxVectors;
        }

        @Override
        public String typeName() {
            return CONTENT_TYPE;
        }

        @Override
        public ValueFetcher valueFetcher(QueryShardContext context, SearchLookup searchLookup, String format) {
            return new SourceValueFetcher(name(), context) {
                @Override
                protected Object parseSourceValue(Object value) {
                    return value;
                }
            };
        }

        @Override
        public Query termQuery(Object value, QueryShardContext context) {
            throw new IllegalArgumentException("field [" + name() + "] of type [" + CONTENT_TYPE + "] does not support term queries: "
                + "query it with [late_interaction]");
        }
    }

    private LateInteractionFieldMapper(String simpleName, FieldType type, MultiFields multiFields, CopyTo copyTo) {
        super(simpleName, type, multiFields, copyTo);
    }

    @Override
    public FieldType fieldType() {
        return (FieldType) super.fieldType();
    }

    @Override
    public ParametrizedFieldMapper.Builder getMergeBuilder() {
        return new Builder(simpleName()).init(this);
    }

    /** The value is one array (of arrays): the document parser hands it over whole instead of element by element. */
    @Override
    public boolean parsesArrayValue() {
        return true;
    }

    @Override
    protected String contentType() {
        return CONTENT_TYPE;
    }

    @Override
    protected void parseCreateField(ParseContext context) throws IOException {
        FieldType type = fieldType();
        String field = type.name();
        int dims = type.dims();
        if (context.doc().getByKey(field) != null) {
            throw new IllegalArgumentException("field [" + field + "] of type [" + CONTENT_TYPE + "] takes one array of vectors per document");
        }
        XContentParser parser = context.parser();
        if (parser.currentToken() != XContentParser.Token.START_ARRAY) {
            throw shape(field, "must be an array of vectors, got " + parser.currentToken());
        }
        List<float[]> vectors = new ArrayList<>();
        XContentParser.Token token;
        while ((token = parser.nextToken()) != XContentParser.Token.END_ARRAY) {
            int index = vectors.size();
            if (token != XContentParser.Token.START_ARRAY) {
                throw shape(field, "must be an array of vectors, but element [" + index + "] is " + token + ", not an array of numbers");
            }
            if (index == type.maxVectors()) {
                throw shape(field, "holds more than [max_vectors] " + type.maxVectors() + " vectors");
            }
            float[] vector = new float[dims];
            int components = 0;
            while ((token = parser.nextToken()) != XContentParser.Token.END_ARRAY) {
                if (token != XContentParser.Token.VALUE_NUMBER) {
                    throw shape(field, "vector [" + index + "] must hold numbers, got " + token);
                }
                float value = parser.floatValue();
                if (!Float.isFinite(value)) {
                    throw shape(field, "vector [" + index + "] holds a value that is not a finite float: [" + parser.text() + "]");
                }
                if (components < dims) {
                    vector[components] = value;
                }
                components++;
            }
            if (components != dims) {
                throw shape(field, "vector [" + index + "] has " + components + " dimensions, but the field has [dims] " + dims);
            }
            vectors.add(vector);
        }
        if (vectors.isEmpty()) {
            throw shape(field, "must hold at least one vector");
        }
        byte[] encoded = TokenVectors.encode(type.elementType(), vectors.toArray(new float[0][]));
        context.doc().addWithKey(field, new BinaryDocValuesField(field, new BytesRef(encoded)));
    }

    private static MapperParsingException shape(String field, String problem) {
        return new MapperParsingException("field [" + field + "] of type [" + CONTENT_TYPE + "] " + problem);
    }
}
