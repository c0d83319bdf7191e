package io.embedder.ingest;

import org.junit.jupiter.api.Test;
import org.opensearch.common.xcontent.XContentHelper;
import org.opensearch.common.xcontent.json.JsonXContent;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Where texts are found in a document and where their vectors go, for every shape of source the issue names. */
class FieldTextsTest {

    /** A source as ingest sees it (integers stay integers). */
    static Map<String, Object> source(String json) {
        return XContentHelper.convertToMap(JsonXContent.jsonXContent, json, true);
    }

    private static List<FieldTexts.Found> find(String json, String from, String to) {
        return FieldTexts.find(source(json), new FieldMapping(from, to), false, "d1");
    }

    private static String error(String json, String from, String to) {
        return assertThrows(IllegalArgumentException.class, () -> find(json, from, to)).getMessage();
    }

    @Test
    void aStringGivesOneVectorAtTheTarget() {
        assertEquals(List.of(new FieldTexts.Found("body", "a cat", "vec", false)), find("{\"body\": \"a cat\"}", "body", "vec"));
    }

    @Test
    void dottedPathsReadObjectsAndWriteBesideOrElsewhere() {
        String doc = "{\"book\": {\"title\": \"Dune\", \"meta\": {\"lang\": \"en\"}}}";
        assertEquals(List.of(new FieldTexts.Found("book.title", "Dune", "book.title_vec", false)), find(doc, "book.title", "book.title_vec"));
        assertEquals(List.of(new FieldTexts.Found("book.meta.lang", "en", "vectors.lang", false)), find(doc, "book.meta.lang", "vectors.lang"));
    }

    @Test
    void anArrayOfStringsGivesAListOfVectorsInOrder() {
        assertEquals(List.of(new FieldTexts.Found("tags.0", "red", "tag_vecs", true), new FieldTexts.Found("tags.1", "blue", "tag_vecs", true)),
            find("{\"tags\": [\"red\", \"blue\"]}", "tags", "tag_vecs"));
        assertEquals(List.of(), find("{\"tags\": []}", "tags", "tag_vecs"));
    }

    @Test
    void anArrayOfObjectsOnTheSharedPathGivesEachObjectItsVector() {
        String doc = "{\"chunks\": [{\"text\": \"one\"}, {\"text\": \"two\"}]}";
        assertEquals(List.of(new FieldTexts.Found("chunks.0.text", "one", "chunks.0.vec", false),
            new FieldTexts.Found("chunks.1.text", "two", "chunks.1.vec", false)), find(doc, "chunks.text", "chunks.vec"));
        // deeper: the vector sits beside its text, inside the object of the inner array
        String deep = "{\"a\": [{\"b\": [{\"t\": \"x\"}, {\"t\": \"y\"}]}, {\"b\": {\"t\": \"z\"}}]}";
        assertEquals(List.of(new FieldTexts.Found("a.0.b.0.t", "x", "a.0.b.0.v", false), new FieldTexts.Found("a.0.b.1.t", "y", "a.0.b.1.v", false),
            new FieldTexts.Found("a.1.b.t", "z", "a.1.b.v", false)), find(deep, "a.b.t", "a.b.v"));
    }

    @Test
    void anArrayOfObjectsOffTheSharedPathIsCollectedIntoAList() {
        String doc = "{\"chunks\": [{\"text\": \"one\"}, {\"text\": \"two\"}]}";
        assertEquals(List.of(new FieldTexts.Found("chunks.0.text", "one", "chunk_vecs", true),
            new FieldTexts.Found("chunks.1.text", "two", "chunk_vecs", true)), find(doc, "chunks.text", "chunk_vecs"));
        // an array below the shared part: each outer object gets the list of its inner texts' vectors
        String nested = "{\"docs\": [{\"parts\": [{\"t\": \"x\"}, {\"t\": \"y\"}]}]}";
        assertEquals(List.of(new FieldTexts.Found("docs.0.parts.0.t", "x", "docs.0.vecs", true),
            new FieldTexts.Found("docs.0.parts.1.t", "y", "docs.0.vecs", true)), find(nested, "docs.parts.t", "docs.vecs"));
    }

    @Test
    void valuesGroupListTargetsAndKeepSingleOnes() {
        List<FieldTexts.Found> found = List.of(new FieldTexts.Found("a", "x", "v", false), new FieldTexts.Found("t.0", "y", "w", true),
            new FieldTexts.Found("t.1", "z", "w", true));
        assertEquals(Map.of("v", 1, "w", List.of(2, 3)), FieldTexts.values(found, List.of(1, 2, 3)));
    }

    @Test
    void missingAndNullFieldsFailUnlessIgnored() {
        assertEquals("[embed] field [body] of document [d1] is missing; set ignore_missing to skip such documents", error("{}", "body", "v"));
        assertEquals("[embed] field [body] of document [d1] is null; set ignore_missing to skip such documents",
            error("{\"body\": null}", "body", "v"));
        assertEquals("[embed] field [book.title] of document [d1] is missing; set ignore_missing to skip such documents",
            error("{\"other\": 1}", "book.title", "v"));
        String chunks = "{\"chunks\": [{\"text\": \"one\"}, {\"note\": \"no text\"}, null, {\"text\": \"three\"}]}";
        assertEquals("[embed] field [chunks.1.text] of document [d1] is missing; set ignore_missing to skip such documents",
            error(chunks, "chunks.text", "chunks.vec"));
        // ignore_missing: the objects without text get no vector, the others do
        assertEquals(List.of(new FieldTexts.Found("chunks.0.text", "one", "chunks.0.vec", false),
                new FieldTexts.Found("chunks.3.text", "three", "chunks.3.vec", false)),
            FieldTexts.find(source(chunks), new FieldMapping("chunks.text", "chunks.vec"), true, "d1"));
        assertEquals(List.of(), FieldTexts.find(source("{}"), new FieldMapping("body", "v"), true, "d1"));
    }

    @Test
    void wrongValuesNameTheFieldTheDocumentAndWhatWasFound() {
        assertEquals("[embed] field [body] of document [d1] must be a string or an array of strings, got number [42]",
            error("{\"body\": 42}", "body", "v"));
        assertEquals("[embed] field [body] of document [d1] must be a string or an array of strings, got an object",
            error("{\"body\": {\"text\": \"x\"}}", "body", "v"));
        assertEquals("[embed] field [tags.1] of document [d1] must be a string, got number [7]", error("{\"tags\": [\"a\", 7]}", "tags", "v"));
        assertEquals("[embed] field [tags.0] of document [d1] must be a string, got null", error("{\"tags\": [null]}", "tags", "v"));
        assertEquals("[embed] field [tags.0] of document [d1] must be a string, got an array of 1", error("{\"tags\": [[\"a\"]]}", "tags", "v"));
        assertEquals("[embed] field [book.title] of document [d1] cannot be reached: [book] is string [Dune], not an object",
            error("{\"book\": \"Dune\"}", "book.title", "v"));
        assertEquals("[embed] field [tags.0.name] of document [d1] cannot be reached: [tags.0] is string [red], not an object",
            error("{\"tags\": [\"red\"]}", "tags.name", "v"));
    }

    @Test
    void valueAtFollowsConcretePaths() {
        Map<String, Object> doc = source("{\"chunks\": [{\"vec\": [1, 2]}, {\"vec\": [3]}], \"v\": [5]}");
        assertEquals(List.of(3), FieldTexts.valueAt(doc, "chunks.1.vec"));
        assertEquals(List.of(5), FieldTexts.valueAt(doc, "v"));
        assertNull(FieldTexts.valueAt(doc, "chunks.2.vec"));
        assertNull(FieldTexts.valueAt(doc, "chunks.x.vec"));
        assertNull(FieldTexts.valueAt(doc, "nope"));
    }

    @Test
    void fieldNameDropsArrayIndices() {
        assertEquals("chunks.vec", FieldTexts.fieldName("chunks.12.vec"));
        assertEquals("a.b.v", FieldTexts.fieldName("a.0.b.1.v"));
        assertEquals("vec", FieldTexts.fieldName("vec"));
    }
}
