package io.embedder.it;

import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README example conventions, and the README itself read by them (no node needed: ReadmeExamplesIT runs it). */
class ReadmeExamplesTest {

    @Test
    void requestsResponsesDirectivesAndOtherBlocks() {
        List<ReadmeExamples.Step> steps = ReadmeExamples.parse(List.of(
            "text", "```sh", "curl x", "```",
            "<!-- test: model-file m/modules.json -->", "```json", "[]", "```",
            "```json", "PUT idx", "{\"a\": 1}", "", "POST _bulk", "{\"index\": {}}", "{\"b\": 2}", "```",
            "```json", "{\"ok\": true}", "```",
            "<!-- test: status 404 -->", "```json", "GET /nope", "```"));
        assertEquals(4, steps.size());
        assertEquals(new ReadmeExamples.ModelFile(6, "m/modules.json", "[]\n"), steps.get(0));
        ReadmeExamples.Request put = (ReadmeExamples.Request) steps.get(1);
        assertEquals(List.of("PUT", "/idx", "{\"a\": 1}", 0, 10), List.of(put.method(), put.path(), put.body(), put.status(), put.line()));
        ReadmeExamples.Request bulk = (ReadmeExamples.Request) steps.get(2);
        assertEquals("{\"index\": {}}\n{\"b\": 2}\n", bulk.body());
        assertTrue(bulk.ndjson());
        assertEquals(List.of(JsonParser.parseString("{\"ok\": true}")), bulk.responses());
        ReadmeExamples.Request nope = (ReadmeExamples.Request) steps.get(3);
        assertEquals(404, nope.status());
        assertNull(nope.body());
    }

    @Test
    void mistakesNameTheirLine() {
        assertEquals("README line 3: not valid JSON: java.io.EOFException: End of input at line 1 column 6 path $.a",
            assertThrows(IllegalArgumentException.class, () -> ReadmeExamples.parse(List.of("```json", "PUT x", "{\"a\":", "```"))).getMessage());
        assertEquals("README line 1: unknown test directive <!-- test: skip -->",
            assertThrows(IllegalArgumentException.class, () -> ReadmeExamples.parse(List.of("<!-- test: skip -->"))).getMessage());
        assertEquals("README line 1: a response example before any request",
            assertThrows(IllegalArgumentException.class, () -> ReadmeExamples.parse(List.of("```json", "{}", "```"))).getMessage());
    }

    @Test
    void containment() {
        var actual = JsonParser.parseString("{\"a\": 1.0, \"b\": [1, 2, 3], \"n\": {\"x1\": {\"k\": 1}, \"x2\": {\"k\": 1}}, \"s\": \"v\"}");
        assertNull(ReadmeExamples.contains(JsonParser.parseString("{\"a\": 1, \"b\": [1, \"...\"], \"n\": {\"*\": {\"k\": 1}}, \"s\": \"...\"}"),
            actual, "r"));
        assertEquals("r.b[1]: expected 3, got 2", ReadmeExamples.contains(JsonParser.parseString("{\"b\": [1, 3]}"), actual, "r"));
        assertEquals("r.c: missing, expected 1", ReadmeExamples.contains(JsonParser.parseString("{\"c\": 1}"), actual, "r"));
        assertEquals("r.n.x1.k: expected 2, got 1", ReadmeExamples.contains(JsonParser.parseString("{\"n\": {\"*\": {\"k\": 2}}}"), actual, "r"));
        assertEquals("r.b: expected an array of at least 4, got [1,2,3]",
            ReadmeExamples.contains(JsonParser.parseString("{\"b\": [1, 2, 3, 4]}"), actual, "r"));
    }

    /** Every JSON block of the README parses, and at least the walkthrough's requests are there. */
    @Test
    void theReadmeParses() throws IOException {
        List<ReadmeExamples.Step> steps = ReadmeExamples.parse(Files.readAllLines(Path.of("README.md")));
        assertTrue(steps.size() >= 10, "only " + steps.size() + " README steps");
    }
}
