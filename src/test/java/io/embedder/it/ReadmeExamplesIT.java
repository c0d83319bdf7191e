package io.embedder.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Runs every JSON example of README.md, in order, against the test node (conventions in {@link ReadmeExamples}): each
 * request must answer 2xx (or the status its directive gives) and contain the response examples that follow it.
 * Model files the README shows are written into the node's models directory ({@code -Dtests.node.models}); each such
 * model directory gets the graph and tokenizer of the bundled all-MiniLM-L6-v2, the model the README exports. Indices,
 * pipelines and model directories the README creates are removed before and after.
 */
class ReadmeExamplesIT {

    private static final Path README = Path.of("README.md");
    private static final Pattern INDEX_PUT = Pattern.compile("^/([a-z0-9][a-z0-9_.-]*)$");
    private static final Pattern PIPELINE_PUT = Pattern.compile("^/_ingest/pipeline/([^/?]+)$");

    private static List<ReadmeExamples.Step> steps;

    @TestFactory
    Stream<DynamicTest> everyExampleRunsAsShown() throws IOException {
        assumeTrue(Node.modelsDir() != null, "tests.node.models not given");
        steps = ReadmeExamples.parse(Files.readAllLines(README));
        cleanUp();
        return steps.stream().map(step -> DynamicTest.dynamicTest(step.toString(), () -> run(step)));
    }

    @AfterAll
    static void removeWhatTheReadmeCreated() throws IOException {
        if (steps != null) {
            cleanUp();
        }
    }

    private static void run(ReadmeExamples.Step step) throws IOException {
        if (step instanceof ReadmeExamples.ModelFile f) {
            Path file = Node.modelsDir().resolve(f.path());
            Files.createDirectories(file.getParent());
            Files.writeString(file, f.content());
            Path modelDir = Node.modelsDir().resolve(Path.of(f.path()).getName(0));
            for (String linked : List.of("model.onnx", "tokenizer.json")) {
                if (!Files.exists(modelDir.resolve(linked))) {
                    Files.createLink(modelDir.resolve(linked), Node.modelsDir().resolve("all-MiniLM-L6-v2").resolve(linked));
                }
            }
            return;
        }
        ReadmeExamples.Request r = (ReadmeExamples.Request) step;
        Node.Response response = Node.request(r.method(), r.path(), r.body(), r.ndjson() ? "application/x-ndjson" : "application/json");
        if (r.status() == 0) {
            assertTrue(response.status() / 100 == 2, r + " answered " + response.status() + ": " + response.body());
        } else {
            assertEquals(r.status(), response.status(), r + ": " + response.body());
        }
        if (r.ndjson() && response.body().getAsJsonObject().has("errors")) {
            assertEquals(false, response.body().getAsJsonObject().get("errors").getAsBoolean(), r + ": " + response.body());
        }
        for (var example : r.responses()) {
            assertNull(ReadmeExamples.contains(example, response.body(), "response"), r + " answered " + response.body());
        }
    }

    /** Deletes the indices and pipelines the README's requests create, and unloads and deletes its model directories. */
    private static void cleanUp() throws IOException {
        Set<String> models = new LinkedHashSet<>();
        for (ReadmeExamples.Step step : steps) {
            if (step instanceof ReadmeExamples.Request r && r.method().equals("PUT")) {
                Matcher index = INDEX_PUT.matcher(r.path());
                Matcher pipeline = PIPELINE_PUT.matcher(r.path());
                if (index.matches()) {
                    Node.delete("/" + index.group(1));
                } else if (pipeline.matches()) {
                    Node.delete("/_ingest/pipeline/" + pipeline.group(1));
                }
            } else if (step instanceof ReadmeExamples.ModelFile f) {
                models.add(Path.of(f.path()).getName(0).toString());
            }
        }
        for (String model : models) {
            Node.post("/_plugins/_embedder/models/" + model + "/_unload", "");
            Path dir = Node.modelsDir().resolve(model);
            if (Files.exists(dir)) {
                try (var files = Files.walk(dir)) {
                    for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(p);
                    }
                }
            }
        }
    }
}
