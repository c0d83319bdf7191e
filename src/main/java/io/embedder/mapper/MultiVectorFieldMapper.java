package io.embedder.mapper;

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
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;

/**
 * {@code multi_vector}: a document's token vectors (ColBERT-style), {@code "tokens": {"type": "multi_vector", "dims": 384}}.
 * The value is an array of vectors of exactly {@code dims} finite numbers. Stored shaped for late interaction: one
 * binary doc value per document holding the vectors back to back as little-endian float32 (count = length / (4 × dims)),
 * so MaxSim reads a document's matrix in one piece. Not searchable by itself.
 */
public final class MultiVectorFieldMapper extends ParametrizedFieldMapper {

    public static final String CONTENT_TYPE = "multi_vector";
    /** Most dimensions a vector may have. */
    public static final int MAX_DIMS = 4096;
    /** Most vectors one document may hold (a few model windows of tokens). */
    public static final int MAX_VECTORS = 8192;

    private static MultiVectorFieldMapper toType(FieldMapper in) {
        return (MultiVectorFieldMapper) in;
    }

    public static final class Builder extends ParametrizedFieldMapper.Builder {
        final Parameter<Integer> dims = Parameter.intParam("dims", false, m -> toType(m).dims, 0).setValidator(d -> {
            if (d < 1 || d > MAX_DIMS) {
                throw new IllegalArgumentException("[dims] of a [" + CONTENT_TYPE + "] field must be between 1 and " + MAX_DIMS + ", got [" + d + "]");
            }
        });
        final Parameter<Map<String, String>> meta = Parameter.metaParam();

        public Builder(String name) {
            super(name);
        }

        @Override
        protected List<Parameter<?>> getParameters() {
            return List.of(dims, meta);
        }

        @Override
        public MultiVectorFieldMapper build(BuilderContext context) {
            return new MultiVectorFieldMapper(name, new FieldType(buildFullName(context), dims.getValue(), meta.getValue()),
                multiFieldsBuilder.build(this, context), copyTo.build(), dims.getValue());
        }
    }

    public static final TypeParser PARSER = new TypeParser((name, context) -> new Builder(name));

    public static final class FieldType extends MappedFieldType {
        private final int dims;

        public FieldType(String name, int dims, Map<String, String> meta) {
            super(name, false, false, true, TextSearchInfo.NONE, meta);
            this.dims = dims;
        }

        public int dims() {
            return dims;
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
                + "it holds token vectors for late interaction");
        }
    }

    private final int dims;

    private MultiVectorFieldMapper(String simpleName, FieldType type, MultiFields multiFields, CopyTo copyTo, int dims) {
        super(simpleName, type, multiFields, copyTo);
        this.dims = dims;
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
        String field = fieldType().name();
        if (context.doc().getByKey(field) != null) {
            throw new IllegalArgumentException("field [" + field + "] of type [" + CONTENT_TYPE + "] takes one array of vectors per document");
        }
        XContentParser parser = context.parser();
        if (parser.currentToken() != XContentParser.Token.START_ARRAY) {
            throw shape(field, "must be an array of vectors, got " + parser.currentToken());
        }
        ByteBuffer buffer = ByteBuffer.allocate(16 * dims * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        int vectors = 0;
        XContentParser.Token token;
        while ((token = parser.nextToken()) != XContentParser.Token.END_ARRAY) {
            if (token != XContentParser.Token.START_ARRAY) {
                throw shape(field, "must be an array of vectors, but element [" + vectors + "] is " + token + ", not an array of numbers");
            }
            if (++vectors > MAX_VECTORS) {
                throw shape(field, "holds more than " + MAX_VECTORS + " vectors");
            }
            if (buffer.remaining() < dims * Float.BYTES) {
                buffer = ByteBuffer.allocate(buffer.capacity() * 2).order(ByteOrder.LITTLE_ENDIAN).put(buffer.flip());
            }
            int components = 0;
            while ((token = parser.nextToken()) != XContentParser.Token.END_ARRAY) {
                if (token != XContentParser.Token.VALUE_NUMBER) {
                    throw shape(field, "vector [" + (vectors - 1) + "] must hold numbers, got " + token);
                }
                float value = parser.floatValue();
                if (!Float.isFinite(value)) {
                    throw shape(field, "vector [" + (vectors - 1) + "] holds a value that is not a finite float: [" + parser.text() + "]");
                }
                if (++components <= dims) {
                    buffer.putFloat(value);
                }
            }
            if (components != dims) {
                throw shape(field, "vector [" + (vectors - 1) + "] has " + components + " dimensions, but the field has [dims] " + dims);
            }
        }
        if (vectors == 0) {
            throw shape(field, "must hold at least one vector");
        }
        BinaryDocValuesField value = new BinaryDocValuesField(field, new BytesRef(buffer.array(), 0, buffer.position()));
        context.doc().addWithKey(field, value);
    }

    private static MapperParsingException shape(String field, String problem) {
        return new MapperParsingException("field [" + field + "] of type [" + CONTENT_TYPE + "] " + problem);
    }
}
