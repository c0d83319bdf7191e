package io.embedder.core;

import io.embedder.core.runtime.LoadedModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Model lookup and loading failures: each a precise error, and nothing cached from a failed load. */
class EmbedderTest {

    @TempDir
    Path models;

    private Embedder embedder() {
        return new Embedder(models, new LoadedModel.Limits(8, 4096, 1, Long.MAX_VALUE, 2), Path.of("target/djl-cache"));
    }

    private Path modelWith(String name, String descriptor) throws IOException {
        TestData.assumeModel("bge-small-en-v1.5");
        Path dir = Files.createDirectories(models.resolve(name));
        Path bge = TestData.modelsDir().resolve("bge-small-en-v1.5").toAbsolutePath();
        Files.createSymbolicLink(dir.resolve("tokenizer.json"), bge.resolve("tokenizer.json"));
        Files.createSymbolicLink(dir.resolve("model.onnx"), bge.resolve("model.onnx"));
        Files.writeString(dir.resolve("embedder-model.json"), descriptor);
        return dir;
    }

    private static EmbedderException failure(Embedder e, String model) {
        return assertThrows(EmbedderException.class, () -> e.embed(model, EmbedParams.embed(List.of("x"), null)));
    }

    @Test
    void unknownAndInvalidNames() throws IOException {
        Files.createDirectories(models.resolve("a-model"));
        try (Embedder e = embedder()) {
            EmbedderException missing = failure(e, "nope");
            assertEquals(EmbedderException.Kind.NOT_FOUND, missing.kind());
            assertEquals("model [nope] not found; available: [a-model]", missing.getMessage());
            for (String bad : List.of("../etc", "/etc/passwd", "..", ".hidden", "a/b", "")) {
                EmbedderException invalid = failure(e, bad);
                assertEquals(EmbedderException.Kind.BAD_REQUEST, invalid.kind(), bad);
                assertEquals("invalid model name [" + bad + "]: letters, digits, '.', '_' and '-' only, not starting with '.' or '-' "
                    + "(a model is a directory directly under the models directory)", invalid.getMessage());
            }
        }
    }

    @Test
    void corruptOnnxFileAndRecoveryOnceFixed() throws IOException {
        Path dir = modelWith("broken", "{\"pooling\": \"cls\", \"normalize\": true, \"max_tokens\": 512}");
        Files.delete(dir.resolve("model.onnx"));
        Files.writeString(dir.resolve("model.onnx"), "this is not an ONNX graph");
        try (Embedder e = embedder()) {
            EmbedderException corrupt = failure(e, "broken");
            assertEquals(EmbedderException.Kind.INVALID_MODEL, corrupt.kind());
            assertTrue(corrupt.getMessage().startsWith("model [broken]: cannot load ONNX file [model.onnx]: "), corrupt.getMessage());
            Files.delete(dir.resolve("model.onnx"));
            Files.createSymbolicLink(dir.resolve("model.onnx"), TestData.modelsDir().resolve("bge-small-en-v1.5/model.onnx").toAbsolutePath());
            assertEquals(384, e.embed("broken", EmbedParams.embed(List.of("x"), null)).dimensions());
        }
    }

    @Test
    void outputRankIsCheckedAgainstThePooling() throws IOException {
        modelWith("pooled", "{\"pooling\": \"none\", \"normalize\": true, \"max_tokens\": 512, \"output_name\": \"last_hidden_state\"}");
        modelWith("no-output", "{\"pooling\": \"none\", \"normalize\": true, \"max_tokens\": 512}");
        modelWith("wrong-dims", "{\"pooling\": \"cls\", \"normalize\": true, \"max_tokens\": 512, \"dimensions\": 768}");
        try (Embedder e = embedder()) {
            assertEquals("model [pooled]: output [last_hidden_state] has rank 3 but the pooling reads rank 2 ([batch, dim]): use pooling "
                + "[none] only for graphs that pool", failure(e, "pooled").getMessage());
            assertEquals("model [no-output]: the ONNX graph has no output [sentence_embedding]; its outputs are [last_hidden_state]",
                failure(e, "no-output").getMessage());
            assertEquals("model [wrong-dims]: embedder-model.json says 768 dimensions but the ONNX output [last_hidden_state] has 384",
                failure(e, "wrong-dims").getMessage());
        }
    }

    @Test
    void closedEmbedderRefusesWork() throws IOException {
        modelWith("m", "{\"pooling\": \"cls\", \"normalize\": true, \"max_tokens\": 512}");
        Embedder e = embedder();
        e.embed("m", EmbedParams.embed(List.of("x"), null));
        e.close();
        assertEquals("the embedder is closed", assertThrows(IllegalStateException.class, () -> e.load("m")).getMessage());
    }

    @Test
    void aTokenizerThatDoesNotMatchTheGraphFailsAtLoad() throws IOException {
        Path dir = modelWith("mismatch", "{\"pooling\": \"cls\", \"normalize\": true, \"max_tokens\": 512}");
        com.google.gson.JsonObject tokenizer = TestData.json(dir.resolve("tokenizer.json"));
        com.google.gson.JsonObject big = new com.google.gson.JsonObject();
        big.addProperty("id", 40000);
        big.addProperty("content", "[BEYOND]");
        big.addProperty("single_word", false);
        big.addProperty("lstrip", false);
        big.addProperty("rstrip", false);
        big.addProperty("normalized", false);
        big.addProperty("special", true);
        tokenizer.getAsJsonArray("added_tokens").add(big);
        Files.delete(dir.resolve("tokenizer.json"));
        Files.writeString(dir.resolve("tokenizer.json"), tokenizer.toString());
        try (Embedder e = embedder()) {
            EmbedderException mismatch = failure(e, "mismatch");
            assertEquals(EmbedderException.Kind.INVALID_MODEL, mismatch.kind());
            assertTrue(mismatch.getMessage().startsWith("model [mismatch]: the tokenizer does not match the ONNX graph: token id 40000 "
                + "(the largest in tokenizer.json) fails in the graph: ONNX inference failed: "), mismatch.getMessage());
        }
    }
}
