package io.embedder.core.lateinteraction;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ProjectionTest {

    @TempDir
    Path dir;

    private static final float[][] W = {{1, 0, 2}, {0, -1, 0.5f}};

    /** W·(1, 2, 3) = (1 + 6, −2 + 1.5) = (7, −0.5); + b (0.5, 1) = (7.5, 0.5). */
    @Test
    void handComputedLinearLayer() {
        assertArrayEquals(new float[] {7, -0.5f}, new Projection(W, null, Projection.Activation.IDENTITY).apply(new float[] {1, 2, 3}));
        assertArrayEquals(new float[] {7.5f, 0.5f}, new Projection(W, new float[] {0.5f, 1}, Projection.Activation.IDENTITY).apply(new float[] {1, 2, 3}));
        assertArrayEquals(new float[] {(float) Math.tanh(7.5), (float) Math.tanh(0.5)},
            new Projection(W, new float[] {0.5f, 1}, Projection.Activation.TANH).apply(new float[] {1, 2, 3}), 1e-7f);
    }

    @Test
    void readsAPyLateDenseModule() {
        TestTensors.dense(dir.resolve("1_Dense"), W, null, "torch.nn.modules.linear.Identity");
        Projection p = Projection.read(dir.resolve("1_Dense"), "1_Dense");
        assertEquals(3, p.inFeatures());
        assertEquals(2, p.outFeatures());
        assertArrayEquals(new float[] {7, -0.5f}, p.apply(new float[] {1, 2, 3}));
        assertEquals("{in_features=3, out_features=2, bias=false, activation_function=torch.nn.modules.linear.Identity}", p.describe().toString());

        TestTensors.dense(dir.resolve("2_Dense"), W, new float[] {0.5f, 1}, "torch.nn.modules.activation.Tanh");
        assertArrayEquals(new float[] {(float) Math.tanh(7.5), (float) Math.tanh(0.5)},
            Projection.read(dir.resolve("2_Dense"), "2_Dense").apply(new float[] {1, 2, 3}), 1e-7f);
    }

    @Test
    void refusesWhatItCannotRun() throws IOException {
        Path d = dir.resolve("1_Dense");
        TestTensors.dense(d, W, null, "torch.nn.modules.activation.ReLU");
        assertEquals("1_Dense/config.json activation_function [torch.nn.modules.activation.ReLU] is not supported; supported: "
            + "[torch.nn.modules.linear.Identity, torch.nn.modules.activation.Tanh]", message(d));
        Files.writeString(d.resolve("config.json"), "{\"in_features\": 3, \"out_features\": 2, \"bias\": false, \"use_residual\": true}");
        assertEquals("1_Dense/config.json sets use_residual=true, which is not supported", message(d));
        Files.writeString(d.resolve("config.json"), "{\"in_features\": 3, \"out_features\": 2, \"bias\": false, \"dropout\": 0.1}");
        assertEquals("1_Dense/config.json has keys this embedder does not know [dropout]; known: [activation_function, bias, in_features, "
            + "out_features, use_residual]", message(d));
        Files.writeString(d.resolve("config.json"), "{\"in_features\": 4, \"out_features\": 2, \"bias\": false}");
        assertEquals("1_Dense/model.safetensors tensor [linear.weight] has shape [2, 3], expected [2, 4]", message(d));
        Files.writeString(d.resolve("config.json"), "{\"out_features\": 2}");
        assertEquals("1_Dense/config.json in_features is missing", message(d));
        Files.writeString(d.resolve("config.json"), "{\"in_features\": 3, \"out_features\": 2, \"bias\": true}");
        assertEquals("1_Dense/model.safetensors has no tensor [linear.bias]; it has [linear.weight]", message(d));
        Files.delete(d.resolve("model.safetensors"));
        Files.writeString(d.resolve("pytorch_model.bin"), "pickle");
        assertEquals("1_Dense/model.safetensors is missing (1_Dense/pytorch_model.bin is a pickle, which is not read: save the module as "
            + "safetensors)", message(d));
    }

    private static String message(Path d) {
        return assertThrows(IllegalArgumentException.class, () -> Projection.read(d, "1_Dense")).getMessage();
    }
}
