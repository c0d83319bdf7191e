package io.embedder.core.lateinteraction;

import io.embedder.core.TestData;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * ColBERT-style model directories in PyLate's layout for tests, on bge-small-en-v1.5's real tokenizer (and, when asked,
 * its real ONNX graph, linked): config_sentence_transformers.json with the given ColBERT keys, modules.json
 * (Transformer, then a PyLate Dense module when a weight is given) and 1_Dense.
 */
public final class ColbertDirs {

    private ColbertDirs() {}

    /**
     * @param stConfig the JSON of config_sentence_transformers.json
     * @param weight   the Dense module's weight ([out][in], no bias, identity), or null for none
     * @param realOnnx link bge-small's model.onnx (else an empty placeholder: enough to read the spec)
     */
    public static Path write(Path dir, String stConfig, float[][] weight, boolean realOnnx) {
        Path bge = TestData.modelsDir().resolve("bge-small-en-v1.5").toAbsolutePath();
        try {
            Files.createDirectories(dir);
            Files.copy(bge.resolve("tokenizer.json"), dir.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
            if (realOnnx) {
                Files.createSymbolicLink(dir.resolve("model.onnx"), bge.resolve("model.onnx"));
            } else {
                Files.writeString(dir.resolve("model.onnx"), "");
            }
            Files.writeString(dir.resolve("config_sentence_transformers.json"), stConfig);
            Files.writeString(dir.resolve("sentence_bert_config.json"), "{\"max_seq_length\": 511, \"do_lower_case\": false}");
            String transformer = "{\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": \"sentence_transformers.models.Transformer\"}";
            String dense = "{\"idx\": 1, \"name\": \"1\", \"path\": \"1_Dense\", \"type\": \"pylate.models.Dense.Dense\"}";
            Files.writeString(dir.resolve("modules.json"), "[" + transformer + (weight == null ? "" : ", " + dense) + "]");
            if (weight != null) {
                TestTensors.dense(dir.resolve("1_Dense"), weight, null, "torch.nn.modules.linear.Identity");
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
