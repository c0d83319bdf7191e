package io.embedder.query;

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
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.index.query.TermQueryBuilder;
import org.opensearch.search.SearchModule;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The late-interaction query as a value: JSON and wire round trips, validation and model reconciliation messages. */
class LateInteractionQueryBuilderTest {

    private static final NamedXContentRegistry XCONTENT = new NamedXContentRegistry(new SearchModule(Settings.EMPTY, List.of()).getNamedXContents());

    private static LateInteractionQueryBuilder parse(String json) throws IOException {
        try (XContentParser parser = JsonXContent.jsonXContent.createParser(XCONTENT, DeprecationHandler.IGNORE_DEPRECATIONS, json)) {
            parser.nextToken();
            return LateInteractionQueryBuilder.fromXContent(parser, () -> null);
        }
    }

    @Test
    void jsonRoundTrip() throws IOException {
        LateInteractionQueryBuilder q = new LateInteractionQueryBuilder(() -> null, "tokens", null, new float[][] {{1, 0.5f}, {-2, 0}},
            new TermQueryBuilder("tag", "a"), "bge-small-en-v1.5", null);
        q.boost(2f).queryName("li");
        XContentBuilder b = JsonXContent.contentBuilder();
        b.startObject();
        q.doXContent(b, ToXContent.EMPTY_PARAMS);
        b.endObject();
        String json = b.toString();
        assertEquals("{\"late_interaction\":{\"tokens\":{\"query_vectors\":[[1.0,0.5],[-2.0,0.0]],\"filter\":{\"term\":{\"tag\":{\"value\":\"a\","
            + "\"boost\":1.0}}},\"model\":\"bge-small-en-v1.5\",\"boost\":2.0,\"_name\":\"li\"}}}", json);
        LateInteractionQueryBuilder parsed = parse(json.substring("{\"late_interaction\":".length(), json.length() - 1));
        assertEquals(q, parsed);
        assertEquals(q.hashCode(), parsed.hashCode());
    }

    @Test
    void wireRoundTrip() throws IOException {
        LateInteractionQueryBuilder q = new LateInteractionQueryBuilder(() -> null, "tokens", "what is a cat", null, null, null, null);
        BytesStreamOutput out = new BytesStreamOutput();
        out.writeNamedWriteable(q);
        try (StreamInput in = new NamedWriteableAwareStreamInput(out.bytes().streamInput(), new NamedWriteableRegistry(List.of(
            new NamedWriteableRegistry.Entry(QueryBuilder.class, LateInteractionQueryBuilder.NAME, i -> new LateInteractionQueryBuilder(i, () -> null)))))) {
            LateInteractionQueryBuilder read = (LateInteractionQueryBuilder) in.readNamedWriteable(QueryBuilder.class);
            assertEquals(q, read);
            assertEquals("what is a cat", read.queryText());
        }
        LateInteractionQueryBuilder v = new LateInteractionQueryBuilder(() -> null, "tokens", null, new float[][] {{3, 4}}, null, null, null);
        BytesStreamOutput out2 = new BytesStreamOutput();
        v.writeTo(out2);
        LateInteractionQueryBuilder read = new LateInteractionQueryBuilder(out2.bytes().streamInput(), () -> null);
        assertArrayEquals(new float[] {3, 4}, read.queryVectors()[0]);
    }

    @Test
    void validationMessages() {
        assertEquals("[late_interaction] on field [t] needs exactly one of [query_text] and [query_vectors]", assertThrows(ParsingException.class,
            () -> parse("{\"t\": {\"query_text\": \"x\", \"query_vectors\": [[1]]}}")).getMessage());
        assertEquals("[late_interaction] on field [t] needs exactly one of [query_text] and [query_vectors]", assertThrows(ParsingException.class,
            () -> parse("{\"t\": {}}")).getMessage());
        assertEquals("[late_interaction] [query_text] of field [t] must not be blank", assertThrows(ParsingException.class,
            () -> parse("{\"t\": {\"query_text\": \"  \"}}")).getMessage());
        assertEquals("[late_interaction] [query_vectors] of field [t] must hold at least one vector", assertThrows(ParsingException.class,
            () -> parse("{\"t\": {\"query_vectors\": []}}")).getMessage());
        assertEquals("[late_interaction] [query_vectors] of field [t] vector [0] holds a value that is not a finite float: [1e40]",
            assertThrows(ParsingException.class, () -> parse("{\"t\": {\"query_vectors\": [[1e40]]}}")).getMessage());
        assertEquals("[late_interaction] [query_vectors] of field [t] vector [0] has 0 dimensions", assertThrows(ParsingException.class,
            () -> parse("{\"t\": {\"query_vectors\": [[]]}}")).getMessage());
        assertEquals("[late_interaction] does not support [k]; it takes [query_text, query_vectors, filter, model, boost, _name]",
            assertThrows(ParsingException.class, () -> parse("{\"t\": {\"query_text\": \"x\", \"k\": 3}}")).getMessage());
        assertEquals("[late_interaction] takes one field, got [a] and [b]", assertThrows(ParsingException.class,
            () -> parse("{\"a\": {\"query_text\": \"x\"}, \"b\": {}}")).getMessage());
    }

    @Test
    void reconcilesTheModelTheMappingsName() {
        assertEquals("m", TokenQueryEmbedding.reconcile("late_interaction", "t", null, Map.of("a", "m", "b", "m"), List.of("a", "b")));
        assertEquals("m", TokenQueryEmbedding.reconcile("late_interaction", "t", "m", Map.of(), List.of("a")));
        assertEquals("[late_interaction] field [t] was embedded with different models across the searched indices {a=m, b=n}: search them "
            + "separately", assertThrows(IllegalArgumentException.class, () -> TokenQueryEmbedding.reconcile("late_interaction", "t", null,
                new TreeMap<>(Map.of("a", "m", "b", "n")), List.of("a", "b"))).getMessage());
        assertEquals("[rescore.late_interaction] [model] [x] does not match model [m] of field [t] in index [a]: omit [model] or use [m]",
            assertThrows(IllegalArgumentException.class, () -> TokenQueryEmbedding.reconcile("rescore.late_interaction", "t", "x",
                Map.of("a", "m"), List.of("a"))).getMessage());
    }
}
