package io.embedder.core.lateinteraction;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import org.apache.lucene.util.VectorUtil;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The linear layer a ColBERT model applies to every token state after the transformer ({@code y = act(W·x + b)}),
 * read from a sentence-transformers / PyLate {@code Dense} module directory: {@code config.json}
 * ({@code in_features}, {@code out_features}, {@code bias}, {@code activation_function}) and {@code model.safetensors}
 * ({@code linear.weight} of shape {@code [out, in]}, {@code linear.bias} of shape {@code [out]} when {@code bias}).
 * Immutable and thread-safe.
 */
public final class Projection {

    /** Activations a Dense module may name; anything else is refused at load. */
    public enum Activation {
        IDENTITY("torch.nn.modules.linear.Identity"),
        TANH("torch.nn.modules.activation.Tanh");

        private final String torchName;

        Activation(String torchName) {
            this.torchName = torchName;
        }

        public String torchName() {
            return torchName;
        }
    }

    static final Set<String> CONFIG_KEYS = Set.of("in_features", "out_features", "bias", "activation_function", "use_residual");

    private final int inFeatures;
    private final int outFeatures;
    private final float[][] weight;
    private final float[] bias;
    private final Activation activation;

    /**
     * @param weight {@code outFeatures} rows of {@code inFeatures} (PyTorch's {@code [out, in]})
     * @param bias   {@code outFeatures} values, or null
     */
    public Projection(float[][] weight, float[] bias, Activation activation) {
        this.outFeatures = weight.length;
        this.inFeatures = weight[0].length;
        for (float[] row : weight) {
            if (row.length != inFeatures) {
                throw new IllegalArgumentException("projection rows must all have " + inFeatures + " columns");
            }
        }
        if (bias != null && bias.length != outFeatures) {
            throw new IllegalArgumentException("projection bias has " + bias.length + " values for " + outFeatures + " outputs");
        }
        this.weight = weight;
        this.bias = bias;
        this.activation = activation;
    }

    /**
     * Reads the Dense module in {@code dir}; {@code path} is its name relative to the model directory, for messages.
     *
     * @throws IllegalArgumentException naming the file and key that is missing or invalid
     */
    public static Projection read(Path dir, String path) {
        String configLabel = path + "/config.json";
        JsonObject config;
        try {
            JsonElement parsed = JsonParser.parseString(Files.readString(dir.resolve("config.json"), StandardCharsets.UTF_8));
            if (!parsed.isJsonObject()) {
                throw new IllegalArgumentException(configLabel + " must be a JSON object");
            }
            config = parsed.getAsJsonObject();
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + configLabel + ": " + e);
        } catch (JsonParseException e) {
            throw new IllegalArgumentException(configLabel + " is not valid JSON: " + e.getMessage());
        }
        Set<String> unknown = new TreeSet<>(config.keySet());
        unknown.removeAll(CONFIG_KEYS);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(configLabel + " has keys this embedder does not know " + unknown + "; known: " + new TreeSet<>(CONFIG_KEYS));
        }
        int in = positive(config, "in_features", configLabel);
        int out = positive(config, "out_features", configLabel);
        boolean hasBias = !config.has("bias") || bool(config, "bias", configLabel); // sentence-transformers' default: bias
        if (config.has("use_residual") && bool(config, "use_residual", configLabel)) {
            throw new IllegalArgumentException(configLabel + " sets use_residual=true, which is not supported");
        }
        Activation activation = activation(config, configLabel);
        Path weights = dir.resolve("model.safetensors");
        String weightsLabel = path + "/model.safetensors";
        if (!Files.isRegularFile(weights)) {
            throw new IllegalArgumentException(weightsLabel + " is missing" + (Files.isRegularFile(dir.resolve("pytorch_model.bin"))
                ? " (" + path + "/pytorch_model.bin is a pickle, which is not read: save the module as safetensors)" : ""));
        }
        SafeTensors tensors = SafeTensors.open(weights, weightsLabel);
        float[] flat = tensors.floats("linear.weight", out, in);
        float[][] w = new float[out][];
        for (int o = 0; o < out; o++) {
            w[o] = java.util.Arrays.copyOfRange(flat, o * in, (o + 1) * in);
        }
        float[] b = hasBias ? tensors.floats("linear.bias", out) : null;
        return new Projection(w, b, activation);
    }

    private static Activation activation(JsonObject config, String label) {
        if (!config.has("activation_function")) {
            return Activation.TANH; // sentence-transformers' Dense default
        }
        JsonElement e = config.get("activation_function");
        String name = e.isJsonPrimitive() ? e.getAsString() : String.valueOf(e);
        for (Activation a : Activation.values()) {
            if (a.torchName.equals(name)) {
                return a;
            }
        }
        throw new IllegalArgumentException(label + " activation_function [" + name + "] is not supported; supported: "
            + java.util.Arrays.stream(Activation.values()).map(Activation::torchName).toList());
    }

    private static int positive(JsonObject o, String key, String label) {
        JsonElement e = o.get(key);
        if (e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber() && e.getAsDouble() == Math.rint(e.getAsDouble())
            && e.getAsDouble() >= 1 && e.getAsDouble() <= 1 << 20) {
            return e.getAsInt();
        }
        throw new IllegalArgumentException(label + " " + key + (e == null ? " is missing" : " [" + e + "] must be a positive integer"));
    }

    private static boolean bool(JsonObject o, String key, String label) {
        JsonElement e = o.get(key);
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isBoolean()) {
            return e.getAsBoolean();
        }
        throw new IllegalArgumentException(label + " " + key + " [" + e + "] must be true or false");
    }

    public int inFeatures() {
        return inFeatures;
    }

    public int outFeatures() {
        return outFeatures;
    }

    public boolean hasBias() {
        return bias != null;
    }

    public Activation activation() {
        return activation;
    }

    /** {@code act(W·x + b)} of one token state ({@code inFeatures} values). */
    public float[] apply(float[] x) {
        float[] y = new float[outFeatures];
        for (int o = 0; o < outFeatures; o++) {
            float v = VectorUtil.dotProduct(weight[o], x) + (bias == null ? 0f : bias[o]);
            y[o] = activation == Activation.TANH ? (float) Math.tanh(v) : v;
        }
        return y;
    }

    /** The settings the models API shows. */
    public Map<String, Object> describe() {
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        out.put("in_features", inFeatures);
        out.put("out_features", outFeatures);
        out.put("bias", hasBias());
        out.put("activation_function", activation.torchName);
        return out;
    }
}
