package io.embedder.query;

import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The float query vectors of a late-interaction query or rescorer: parsed once with every shape checked, written on the
 * wire as they are. Messages name the owner ({@code [late_interaction]}) and the field.
 */
public final class QueryVectors {

    /** Most vectors a query may carry (ColBERT queries are 32 to 64 tokens). */
    public static final int MAX_VECTORS = 1024;

    private QueryVectors() {}

    /** Parses {@code [[...], [...]]} at the parser's current START_ARRAY. */
    public static float[][] parse(XContentParser parser, String owner, String field) throws IOException {
        String where = "[" + owner + "] [query_vectors] of field [" + field + "]";
        if (parser.currentToken() != XContentParser.Token.START_ARRAY) {
            throw new IllegalArgumentException(where + " must be an array of vectors, got " + parser.currentToken());
        }
        List<float[]> vectors = new ArrayList<>();
        XContentParser.Token token;
        while ((token = parser.nextToken()) != XContentParser.Token.END_ARRAY) {
            int index = vectors.size();
            if (token != XContentParser.Token.START_ARRAY) {
                throw new IllegalArgumentException(where + " must be an array of vectors, but element [" + index + "] is " + token);
            }
            if (index == MAX_VECTORS) {
                throw new IllegalArgumentException(where + " holds more than " + MAX_VECTORS + " vectors");
            }
            List<Float> values = new ArrayList<>();
            while ((token = parser.nextToken()) != XContentParser.Token.END_ARRAY) {
                if (token != XContentParser.Token.VALUE_NUMBER) {
                    throw new IllegalArgumentException(where + " vector [" + index + "] must hold numbers, got " + token);
                }
                float value = parser.floatValue();
                if (!Float.isFinite(value)) {
                    throw new IllegalArgumentException(where + " vector [" + index + "] holds a value that is not a finite float: ["
                        + parser.text() + "]");
                }
                values.add(value);
            }
            if (values.isEmpty() || (index > 0 && values.size() != vectors.get(0).length)) {
                throw new IllegalArgumentException(where + " vector [" + index + "] has " + values.size() + " dimensions"
                    + (index > 0 ? ", but vector [0] has " + vectors.get(0).length : ""));
            }
            float[] vector = new float[values.size()];
            for (int i = 0; i < vector.length; i++) {
                vector[i] = values.get(i);
            }
            vectors.add(vector);
        }
        if (vectors.isEmpty()) {
            throw new IllegalArgumentException(where + " must hold at least one vector");
        }
        return vectors.toArray(new float[0][]);
    }

    public static void write(StreamOutput out, float[][] vectors) throws IOException {
        out.writeVInt(vectors.length);
        for (float[] v : vectors) {
            out.writeFloatArray(v);
        }
    }

    public static float[][] read(StreamInput in) throws IOException {
        float[][] vectors = new float[in.readVInt()][];
        for (int i = 0; i < vectors.length; i++) {
            vectors[i] = in.readFloatArray();
        }
        return vectors;
    }

    public static void toXContent(XContentBuilder builder, String name, float[][] vectors) throws IOException {
        builder.startArray(name);
        for (float[] v : vectors) {
            builder.value(v);
        }
        builder.endArray();
    }
}
