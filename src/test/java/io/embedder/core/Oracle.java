package io.embedder.core;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import org.junit.jupiter.params.provider.Arguments;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Golden vectors of an independent implementation (transformers.js on the same ONNX and tokenizer files):
 * ../shared/data/oracle for bge-small and MiniLM, src/test/resources/oracle for e5-small (made by tools/oracle).
 */
public record Oracle(List<String> texts, List<float[]> vectors) {

    /** (model, oracle file, role) for every golden file; the role picks the prompt the file was made with. */
    public static Stream<Arguments> cases() {
        return Stream.of(
            Arguments.of("bge-small-en-v1.5", "shared:oracle/bge-small-en-v1.5.cls.maxlen512.json", null),
            Arguments.of("all-MiniLM-L6-v2", "shared:oracle/all-MiniLM-L6-v2.mean.maxlen256.json", null),
            Arguments.of("e5-small-v2", "src/test/resources/oracle/e5-small-v2.mean.maxlen512.query.json", "query"),
            Arguments.of("e5-small-v2", "src/test/resources/oracle/e5-small-v2.mean.maxlen512.passage.json", "document"));
    }

    /** Reads a golden file: {@code shared:<path>} is under ../shared/data, anything else relative to the project. */
    public static Oracle read(String file) {
        JsonObject json = TestData.json(file.startsWith("shared:") ? TestData.shared(file.substring(7)) : Path.of(file));
        List<String> texts = new ArrayList<>();
        List<float[]> vectors = new ArrayList<>();
        for (JsonElement e : json.getAsJsonArray("sentences")) {
            texts.add(e.getAsJsonObject().get("text").getAsString());
            vectors.add(TestData.floats(e.getAsJsonObject().getAsJsonArray("embedding")));
        }
        return new Oracle(List.copyOf(texts), List.copyOf(vectors));
    }
}
