package io.embedder.core.model;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.embedder.core.EmbedderException;
import io.embedder.core.lateinteraction.ColbertConfig;
import io.embedder.core.lateinteraction.TokenEmbedSettings;
import io.embedder.core.pooling.Pooling;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Reads a model directory as sentence-transformers saves it, plus our optional descriptor
 * ({@value #DESCRIPTOR}) whose keys override or complete what the files say. Nothing is guessed: a setting
 * that neither settles fails the load with the file and key that would settle it.
 */
public final class ModelSpecReader {

    public static final String DESCRIPTOR = "embedder-model.json";

    static final Set<String> DESCRIPTOR_KEYS = Set.of("pooling", "normalize", "max_tokens", "dimensions", "prompts",
        "default_prompt_name", "matryoshka_dimensions", "onnx_file", "tokenizer_file", "output_name", "padding_side",
        "description");

    /** sentence-transformers' compact {@code pooling_mode} names, and ours. */
    private static final Map<String, Pooling> POOLING_MODES = Map.ofEntries(
        Map.entry("cls", Pooling.CLS), Map.entry("mean", Pooling.MEAN), Map.entry("max", Pooling.MAX),
        Map.entry("mean_sqrt_len_tokens", Pooling.MEAN_SQRT_LEN), Map.entry("mean_sqrt_len", Pooling.MEAN_SQRT_LEN),
        Map.entry("weightedmean", Pooling.WEIGHTED_MEAN), Map.entry("weighted_mean", Pooling.WEIGHTED_MEAN),
        Map.entry("lasttoken", Pooling.LAST_TOKEN), Map.entry("last_token", Pooling.LAST_TOKEN));

    /** sentence-transformers' verbose boolean keys. */
    private static final Map<String, Pooling> POOLING_FLAGS = Map.of(
        "pooling_mode_cls_token", Pooling.CLS,
        "pooling_mode_mean_tokens", Pooling.MEAN,
        "pooling_mode_max_tokens", Pooling.MAX,
        "pooling_mode_mean_sqrt_len_tokens", Pooling.MEAN_SQRT_LEN,
        "pooling_mode_weightedmean_tokens", Pooling.WEIGHTED_MEAN,
        "pooling_mode_lasttoken", Pooling.LAST_TOKEN);

    private final String name;
    private final Path dir;

    private ModelSpecReader(String name, Path dir) {
        this.name = name;
        this.dir = dir;
    }

    /** Reads the model in {@code dir}, named {@code name}. */
    public static ModelSpec read(String name, Path dir) {
        return new ModelSpecReader(name, dir).read();
    }

    private ModelSpec read() {
        JsonObject descriptor = readObject(DESCRIPTOR);
        if (descriptor != null) {
            Set<String> unknown = new TreeSet<>(descriptor.keySet());
            unknown.removeAll(DESCRIPTOR_KEYS);
            if (!unknown.isEmpty()) {
                throw invalid(DESCRIPTOR + " has unknown keys " + unknown + "; allowed: " + new TreeSet<>(DESCRIPTOR_KEYS));
            }
        } else {
            descriptor = new JsonObject();
        }
        Modules modules = readModules();

        Path onnx = locateOnnx(descriptor);
        Path tokenizer = locateFile(descriptor, "tokenizer_file", "tokenizer.json");
        JsonObject tokenizerJson = readObjectAt(tokenizer, dir.relativize(tokenizer).toString());
        Integer tokenizerMax = tokenizerTruncation(tokenizerJson);
        long maxTokenId = maxTokenId(tokenizerJson);
        JsonObject stConfig = readObject("config_sentence_transformers.json");
        TokenEmbedSettings tokenEmbed;
        try {
            tokenEmbed = TokenEmbedSettings.read(dir, stConfig, tokenizerJson, modules.dense);
        } catch (IllegalArgumentException e) {
            throw invalid(e.getMessage());
        }
        boolean colbert = tokenEmbed.colbert() != null;
        if (colbert && modules.pooling == null) { // a ColBERT model does not pool: one vector per token
            modules = new Modules(modules.present, Sourced.of(Pooling.ALL, "config_sentence_transformers.json (ColBERT: one vector per token)"),
                modules.normalize, modules.dimensions, modules.dense);
        }

        Sourced<Pooling> pooling = pooling(descriptor, modules);
        Sourced<Boolean> normalize = colbert && !descriptor.has("normalize") && !modules.normalize
            ? Sourced.of(true, "ColBERT (PyLate normalizes each token vector)") : normalize(descriptor, modules);
        Sourced<Integer> maxTokens = maxTokens(descriptor, tokenizerMax);
        Sourced<Integer> dimensions = descriptor.has("dimensions")
            ? Sourced.of(positiveInt(descriptor, "dimensions", DESCRIPTOR), DESCRIPTOR)
            : modules.dimensions;

        Sourced<Map<String, String>> prompts = prompts(descriptor, stConfig);
        String defaultPrompt = string(descriptor.has("default_prompt_name") ? descriptor : stConfig, "default_prompt_name");
        if (defaultPrompt != null && !prompts.value().containsKey(defaultPrompt)) {
            throw invalid("default_prompt_name [" + defaultPrompt + "] is not one of the prompts " + prompts.value().keySet());
        }
        Sourced<List<Integer>> matryoshka = matryoshka(descriptor, dimensions);
        String padding = descriptor.has("padding_side") ? string(descriptor, "padding_side") : "right";
        if (!padding.equals("right") && !padding.equals("left")) {
            throw invalid(DESCRIPTOR + " padding_side [" + padding + "] must be [right] or [left]");
        }
        String output = descriptor.has("output_name") ? string(descriptor, "output_name")
            : pooling.value() == Pooling.NONE ? "sentence_embedding" : "last_hidden_state";
        return new ModelSpec(name, onnx, tokenizer, output, pooling, normalize, maxTokens, tokenizerMax, maxTokenId, dimensions, prompts,
            defaultPrompt, matryoshka, Sourced.of(padding, descriptor.has("padding_side") ? DESCRIPTOR : "default"), tokenEmbed);
    }

    /** What modules.json and its Pooling module say, when present; {@code dense}: its Dense modules' paths, in order. */
    private record Modules(boolean present, Sourced<Pooling> pooling, boolean normalize, Sourced<Integer> dimensions, List<String> dense) {}

    private Modules readModules() {
        JsonElement modules = readJson("modules.json");
        if (modules == null) {
            // no modules.json: a Pooling config at its conventional place still settles the pooling
            if (Files.isRegularFile(dir.resolve("1_Pooling/config.json"))) {
                return poolingModule("1_Pooling", false);
            }
            return new Modules(false, null, false, null, List.of());
        }
        if (!modules.isJsonArray()) {
            throw invalid("modules.json must be a JSON array of modules");
        }
        Modules result = new Modules(true, null, false, null, List.of());
        boolean normalize = false;
        List<String> dense = new ArrayList<>();
        for (JsonElement e : modules.getAsJsonArray()) {
            JsonObject module = e.isJsonObject() ? e.getAsJsonObject() : new JsonObject();
            String type = string(module, "type");
            if (type == null) {
                throw invalid("modules.json has a module without [type]: " + e);
            }
            // old paths (sentence_transformers.models.Pooling) and newer ones (…models.pooling.Pooling) end alike
            String kind = type.substring(type.lastIndexOf('.') + 1);
            switch (kind) {
                case "Transformer" -> { }
                case "Pooling" -> {
                    String path = string(module, "path");
                    result = poolingModule(path == null || path.isEmpty() ? "1_Pooling" : path, true);
                }
                case "Normalize" -> normalize = true;
                case "Dense" -> { // a ColBERT model's projection (checked by TokenEmbedSettings)
                    String path = string(module, "path");
                    if (path == null || path.isEmpty() || !dir.resolve(path).normalize().startsWith(dir)) {
                        throw invalid("modules.json Dense module needs a [path] inside the model directory, found [" + path + "]");
                    }
                    dense.add(path);
                }
                default -> throw invalid("modules.json module [" + type + "] is not supported; supported modules: "
                    + "[Transformer, Pooling, Normalize, Dense (ColBERT projection)] (another layer must be part of the ONNX graph, "
                    + "with pooling [none] in " + DESCRIPTOR + ")");
            }
        }
        return new Modules(true, result.pooling, normalize, result.dimensions, List.copyOf(dense));
    }

    private Modules poolingModule(String path, boolean fromModules) {
        String file = path + "/config.json";
        JsonObject config = readObject(file);
        if (config == null) {
            throw invalid((fromModules ? "modules.json names a Pooling module but " : "") + file + " is missing");
        }
        if (config.has("include_prompt") && !config.get("include_prompt").getAsBoolean()) {
            throw invalid(file + " sets include_prompt=false (prompt tokens excluded from pooling), which is not supported");
        }
        Sourced<Integer> dims = config.has("word_embedding_dimension")
            ? Sourced.of(positiveInt(config, "word_embedding_dimension", file), file + " word_embedding_dimension") : null;
        Pooling pooling;
        String key;
        if (config.has("pooling_mode")) {
            String mode = string(config, "pooling_mode");
            pooling = POOLING_MODES.get(mode);
            if (pooling == null) {
                throw invalid(file + " pooling_mode [" + mode + "] is not supported; allowed: " + new TreeSet<>(POOLING_MODES.keySet()));
            }
            key = "pooling_mode";
        } else {
            List<String> set = new ArrayList<>();
            for (String flag : new TreeSet<>(POOLING_FLAGS.keySet())) {
                if (config.has(flag) && config.get(flag).getAsBoolean()) {
                    set.add(flag);
                }
            }
            if (set.isEmpty()) {
                throw invalid(file + " sets no pooling: expected [pooling_mode] or one of " + new TreeSet<>(POOLING_FLAGS.keySet())
                    + " set to true");
            }
            if (set.size() > 1) {
                throw invalid(file + " sets several poolings " + set + " (concatenated pooling), which is not supported");
            }
            key = set.get(0);
            pooling = POOLING_FLAGS.get(key);
        }
        String source = (fromModules ? "modules.json + " : "") + file + " " + key;
        return new Modules(fromModules, Sourced.of(pooling, source), false, dims, List.of());
    }

    private Sourced<Pooling> pooling(JsonObject descriptor, Modules modules) {
        if (descriptor.has("pooling")) {
            String value = string(descriptor, "pooling");
            try {
                return Sourced.of(Pooling.fromId(value), DESCRIPTOR);
            } catch (IllegalArgumentException e) {
                throw invalid(DESCRIPTOR + " " + e.getMessage());
            }
        }
        if (modules.pooling != null) {
            return modules.pooling;
        }
        throw invalid(modules.present
            ? "modules.json has no Pooling module and " + DESCRIPTOR + " has no [pooling]: the pooling is not settled"
            : "the pooling is not settled: no modules.json, no 1_Pooling/config.json and no [pooling] in " + DESCRIPTOR);
    }

    private Sourced<Boolean> normalize(JsonObject descriptor, Modules modules) {
        if (descriptor.has("normalize")) {
            JsonElement e = descriptor.get("normalize");
            if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
                throw invalid(DESCRIPTOR + " normalize [" + e + "] must be true or false");
            }
            return Sourced.of(e.getAsBoolean(), DESCRIPTOR);
        }
        if (modules.present) {
            return Sourced.of(modules.normalize, modules.normalize ? "modules.json Normalize module" : "modules.json (no Normalize module)");
        }
        throw invalid("normalization is not settled: no modules.json and no [normalize] in " + DESCRIPTOR);
    }

    private Sourced<Integer> maxTokens(JsonObject descriptor, Integer tokenizerMax) {
        if (descriptor.has("max_tokens")) {
            return Sourced.of(positiveInt(descriptor, "max_tokens", DESCRIPTOR), DESCRIPTOR);
        }
        JsonObject sbert = readObject("sentence_bert_config.json");
        if (sbert != null && sbert.has("max_seq_length") && !sbert.get("max_seq_length").isJsonNull()) {
            return Sourced.of(positiveInt(sbert, "max_seq_length", "sentence_bert_config.json"), "sentence_bert_config.json max_seq_length");
        }
        if (tokenizerMax != null) {
            return Sourced.of(tokenizerMax, "tokenizer.json truncation.max_length");
        }
        throw invalid("the token limit is not settled: no max_seq_length in sentence_bert_config.json, no truncation in "
            + "tokenizer.json and no [max_tokens] in " + DESCRIPTOR);
    }

    private Sourced<Map<String, String>> prompts(JsonObject descriptor, JsonObject stConfig) {
        if (descriptor.has("prompts")) {
            return Sourced.of(stringMap(descriptor, "prompts", DESCRIPTOR), DESCRIPTOR);
        }
        if (stConfig != null && stConfig.has("prompts")) {
            return Sourced.of(stringMap(stConfig, "prompts", "config_sentence_transformers.json"), "config_sentence_transformers.json prompts");
        }
        return Sourced.of(Map.of(), "none");
    }

    private Sourced<List<Integer>> matryoshka(JsonObject descriptor, Sourced<Integer> dimensions) {
        if (!descriptor.has("matryoshka_dimensions")) {
            return Sourced.of(List.of(), "none");
        }
        JsonElement e = descriptor.get("matryoshka_dimensions");
        if (!e.isJsonArray() || e.getAsJsonArray().isEmpty()) {
            throw invalid(DESCRIPTOR + " matryoshka_dimensions must be a non-empty array of positive integers");
        }
        List<Integer> sizes = new ArrayList<>();
        for (JsonElement x : e.getAsJsonArray()) {
            if (!x.isJsonPrimitive() || !x.getAsJsonPrimitive().isNumber() || x.getAsDouble() != x.getAsInt() || x.getAsInt() <= 0) {
                throw invalid(DESCRIPTOR + " matryoshka_dimensions must be a non-empty array of positive integers, found [" + x + "]");
            }
            if (dimensions != null && x.getAsInt() > dimensions.value()) {
                throw invalid(DESCRIPTOR + " matryoshka_dimensions [" + x + "] exceeds the model's dimensions [" + dimensions.value() + "]");
            }
            sizes.add(x.getAsInt());
        }
        return Sourced.of(List.copyOf(sizes), DESCRIPTOR);
    }

    private Path locateOnnx(JsonObject descriptor) {
        if (descriptor.has("onnx_file")) {
            return locateFile(descriptor, "onnx_file", null);
        }
        for (String candidate : List.of("onnx/model.onnx", "model.onnx")) {
            if (Files.isRegularFile(dir.resolve(candidate))) {
                return dir.resolve(candidate);
            }
        }
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> onnx = files.filter(p -> p.getFileName().toString().endsWith(".onnx")).sorted().toList();
            if (onnx.size() == 1) {
                return onnx.get(0);
            }
            throw invalid(onnx.isEmpty()
                ? "no ONNX file: expected onnx/model.onnx, model.onnx or [onnx_file] in " + DESCRIPTOR
                : "several ONNX files " + onnx.stream().map(p -> p.getFileName().toString()).toList() + ": name one with [onnx_file] in " + DESCRIPTOR);
        } catch (IOException e) {
            throw invalid("cannot list the model directory: " + e.getMessage());
        }
    }

    private Path locateFile(JsonObject descriptor, String key, String conventional) {
        String relative = descriptor.has(key) ? string(descriptor, key) : conventional;
        Path file = dir.resolve(relative).normalize();
        if (!file.startsWith(dir)) {
            throw invalid(DESCRIPTOR + " " + key + " [" + relative + "] points outside the model directory");
        }
        if (!Files.isRegularFile(file)) {
            throw invalid(relative + " is missing" + (descriptor.has(key) ? " (named by " + key + " in " + DESCRIPTOR + ")" : ""));
        }
        return file;
    }

    private static Integer tokenizerTruncation(JsonObject json) {
        JsonElement truncation = json.get("truncation");
        if (truncation == null || !truncation.isJsonObject() || !truncation.getAsJsonObject().has("max_length")) {
            return null;
        }
        return truncation.getAsJsonObject().get("max_length").getAsInt();
    }

    /** The largest id among the vocabulary ({@code model.vocab}, a map or a list) and the added tokens; -1 if none. */
    private static long maxTokenId(JsonObject json) {
        long max = -1;
        JsonElement model = json.get("model");
        JsonElement vocab = model != null && model.isJsonObject() ? model.getAsJsonObject().get("vocab") : null;
        if (vocab != null && vocab.isJsonObject()) {
            for (Map.Entry<String, JsonElement> e : vocab.getAsJsonObject().entrySet()) {
                if (e.getValue().isJsonPrimitive() && e.getValue().getAsJsonPrimitive().isNumber()) {
                    max = Math.max(max, e.getValue().getAsLong());
                }
            }
        } else if (vocab != null && vocab.isJsonArray()) {
            max = vocab.getAsJsonArray().size() - 1L;
        }
        JsonElement added = json.get("added_tokens");
        if (added != null && added.isJsonArray()) {
            for (JsonElement t : added.getAsJsonArray()) {
                if (t.isJsonObject() && t.getAsJsonObject().has("id")) {
                    max = Math.max(max, t.getAsJsonObject().get("id").getAsLong());
                }
            }
        }
        return max;
    }

    // ---- JSON helpers -------------------------------------------------------------------------------------

    private JsonObject readObject(String relative) {
        JsonElement e = readJson(relative);
        if (e != null && !e.isJsonObject()) {
            throw invalid(relative + " must be a JSON object");
        }
        return e == null ? null : e.getAsJsonObject();
    }

    private JsonObject readObjectAt(Path file, String label) {
        JsonElement e = parse(file, label);
        if (!e.isJsonObject()) {
            throw invalid(label + " must be a JSON object");
        }
        return e.getAsJsonObject();
    }

    private JsonElement readJson(String relative) {
        Path file = dir.resolve(relative);
        return Files.isRegularFile(file) ? parse(file, relative) : null;
    }

    private JsonElement parse(Path file, String label) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw invalid("cannot read " + label + ": " + e);
        }
        try {
            return JsonParser.parseString(text);
        } catch (JsonParseException e) {
            throw invalid(label + " is not valid JSON: " + e.getMessage());
        }
    }

    private String string(JsonObject o, String key) {
        if (o == null || !o.has(key) || o.get(key).isJsonNull()) {
            return null;
        }
        JsonElement e = o.get(key);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw invalid("[" + key + "] must be a string, found [" + e + "]");
        }
        return e.getAsString();
    }

    private int positiveInt(JsonObject o, String key, String file) {
        JsonElement e = o.get(key);
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber() && e.getAsDouble() == Math.rint(e.getAsDouble()) && e.getAsDouble() >= 1
            && e.getAsDouble() <= Integer.MAX_VALUE) {
            return e.getAsInt();
        }
        throw invalid(file + " " + key + " [" + e + "] must be a positive integer");
    }

    private Map<String, String> stringMap(JsonObject o, String key, String file) {
        JsonElement e = o.get(key);
        if (!e.isJsonObject()) {
            throw invalid(file + " " + key + " must be an object of prompt name to prefix");
        }
        Map<String, String> map = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> entry : e.getAsJsonObject().entrySet()) {
            JsonElement v = entry.getValue();
            if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString()) {
                throw invalid(file + " " + key + "." + entry.getKey() + " [" + v + "] must be a string");
            }
            map.put(entry.getKey(), v.getAsString());
        }
        return java.util.Collections.unmodifiableMap(map);
    }

    private EmbedderException invalid(String message) {
        return EmbedderException.invalidModel(name, message);
    }

}
