package io.embedder.query;

import io.embedder.meta.FieldEmbedding;
import org.opensearch.common.io.stream.BytesStreamOutput;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.xcontent.json.JsonXContent;
import org.opensearch.core.common.ParsingException;
import org.opensearch.core.common.io.stream.NamedWriteableAwareStreamInput;
import org.opensearch.core.common.io.stream.NamedWriteableRegistry;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.xcontent.DeprecationHandler;
import org.opensearch.core.xcontent.NamedXContentRegistry;
import org.opensearch.core.xcontent.ToXContent;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.query.TermQueryBuilder;
import org.opensearch.search.SearchModule;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The query as a value: JSON and wire round trips, equality, validation and reconciliation messages. */
class TextKnnQueryBuilderTest {

    private static final SearchModule SEARCH = new SearchModule(Settings.EMPTY, List.of());
    private static final NamedXContentRegistry XCONTENT = new NamedXContentRegistry(SEARCH.getNamedXContents());

    private static TextKnnQueryBuilder query(Integer k, Float minScore, String model, Integer dims) {
        return new TextKnnQueryBuilder(() -> null, "vec", "what is a cat", k, new TermQueryBuilder("group", "animals"), minScore, null, model,
            dims, null);
    }

    private static TextKnnQueryBuilder parse(String json) throws IOException {
        try (XContentParser parser = JsonXContent.jsonXContent.createParser(XCONTENT, DeprecationHandler.IGNORE_DEPRECATIONS, json)) {
            parser.nextToken();
            return TextKnnQueryBuilder.fromXContent(parser, () -> null);
        }
    }

    @Test
    void jsonRoundTrip() throws IOException {
        TextKnnQueryBuilder q = query(10, null, "bge-small-en-v1.5", 256);
        q.boost(2f).queryName("dense");
        XContentBuilder b = JsonXContent.contentBuilder();
        b.startObject();
        q.doXContent(b, ToXContent.EMPTY_PARAMS);
        b.endObject();
        String json = b.toString();
        assertEquals("{\"text_knn\":{\"vec\":{\"query_text\":\"what is a cat\",\"k\":10,\"filter\":{\"term\":{\"group\":{\"value\":\"animals\","
            + "\"boost\":1.0}}},\"model\":\"bge-small-en-v1.5\",\"dimensions\":256,\"boost\":2.0,\"_name\":\"dense\"}}}", json);
        TextKnnQueryBuilder parsed = parse(json.substring("{\"text_knn\":".length(), json.length() - 1));
        assertEquals(q, parsed);
        assertEquals(q.hashCode(), parsed.hashCode());
    }

    @Test
    void wireRoundTrip() throws IOException {
        TextKnnQueryBuilder q = query(null, 0.7f, null, null);
        q.boost(1.5f);
        BytesStreamOutput out = new BytesStreamOutput();
        out.writeNamedWriteable(q);
        try (StreamInput in = new NamedWriteableAwareStreamInput(out.bytes().streamInput(), new NamedWriteableRegistry(
            List.of(new NamedWriteableRegistry.Entry(org.opensearch.index.query.QueryBuilder.class, TextKnnQueryBuilder.NAME,
                i -> new TextKnnQueryBuilder(i, () -> null)),
                new NamedWriteableRegistry.Entry(org.opensearch.index.query.QueryBuilder.class, TermQueryBuilder.NAME, TermQueryBuilder::new))))) {
            TextKnnQueryBuilder read = (TextKnnQueryBuilder) in.readNamedWriteable(org.opensearch.index.query.QueryBuilder.class);
            assertEquals(q, read);
            assertEquals(0.7f, read.minScore());
            assertNull(read.k());
        }
    }

    @Test
    void validationMessages() {
        assertEquals("[text_knn] on field [vec] needs exactly one of [k], [min_score], [max_distance]; got 2",
            assertThrows(IllegalArgumentException.class, () -> query(10, 0.5f, null, null)).getMessage());
        assertEquals("[text_knn] [k] must be between 1 and 10000, got [0]",
            assertThrows(IllegalArgumentException.class, () -> query(0, null, null, null)).getMessage());
        assertEquals("[text_knn] requires a non-blank [query_text] for field [vec]", assertThrows(IllegalArgumentException.class,
            () -> new TextKnnQueryBuilder(() -> null, "vec", " ", 1, null, null, null, null, null, null)).getMessage());
        assertEquals("[text_knn] takes one vector field, got [a] and [b]", assertThrows(ParsingException.class,
            () -> parse("{\"a\": {\"query_text\": \"x\", \"k\": 1}, \"b\": {}}")).getMessage());
        assertEquals("[text_knn] does not support [vector]; it takes [query_text, k, min_score, max_distance, filter, model, dimensions, "
            + "boost, _name]", assertThrows(ParsingException.class, () -> parse("{\"a\": {\"query_text\": \"x\", \"vector\": [1]}}")).getMessage());
    }

    @Test
    void reconcilesWhatTheIndicesRemember() {
        TextKnnQueryBuilder plain = query(10, null, null, null);
        FieldEmbedding bge = new FieldEmbedding("bge-small-en-v1.5", null);
        assertEquals(bge, plain.reconcile(Map.of("a", bge, "b", bge), List.of("a", "b", "c")));
        assertEquals("[text_knn] field [vec] is embedded differently across the searched indices: index [a] model [bge-small-en-v1.5] "
            + "dimensions [full] normalize [model default]; index [b] model [e5-small-v2] dimensions [full] normalize [model default]; search them separately",
            assertThrows(IllegalArgumentException.class, () -> plain.reconcile(
                new java.util.TreeMap<>(Map.of("a", bge, "b", new FieldEmbedding("e5-small-v2", null))), List.of("a", "b"))).getMessage());
        assertEquals("[text_knn] does not know how field [vec] was embedded: no index [x, y] has _meta.embedder.fields.vec.model in its "
            + "mapping; add it to the mapping or give [model] in the query",
            assertThrows(IllegalArgumentException.class, () -> plain.reconcile(Map.of(), List.of("x", "y"))).getMessage());
        assertEquals(new FieldEmbedding("e5-small-v2", 128), query(10, null, "e5-small-v2", 128).reconcile(Map.of(), List.of("x")));
    }
}
