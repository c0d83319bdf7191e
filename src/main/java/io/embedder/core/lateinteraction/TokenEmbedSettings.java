package io.embedder.core.lateinteraction;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a model directory says about task {@code token_embed}: the ids of its punctuation tokens, and its ColBERT
 * settings when it is a ColBERT-style model (null otherwise).
 *
 * @param punctuationIds what {@code drop_punctuation} drops: a ColBERT model's skiplist, else the tokens that are one
 *                       character of Python's {@code string.punctuation}
 */
public record TokenEmbedSettings(Set<Long> punctuationIds, ColbertConfig colbert) {

    /** No punctuation known, not ColBERT (models described by hand in tests). */
    public static final TokenEmbedSettings NONE = new TokenEmbedSettings(Set.of(), null);

    public TokenEmbedSettings {
        punctuationIds = Set.copyOf(punctuationIds);
    }

    /**
     * @param dir           the model directory
     * @param stConfig      {@code config_sentence_transformers.json}, or null
     * @param tokenizerJson the parsed {@code tokenizer.json}
     * @param densePaths    the Dense modules of {@code modules.json}, in order (paths relative to {@code dir})
     * @throws IllegalArgumentException naming the file and key that is invalid, or Dense modules on a model that is not
     *                                  ColBERT-style
     */
    public static TokenEmbedSettings read(Path dir, JsonObject stConfig, JsonObject tokenizerJson, List<String> densePaths) {
        Map<String, Long> vocabulary = vocabulary(tokenizerJson);
        if (!ColbertConfig.declaredIn(stConfig)) {
            if (!densePaths.isEmpty()) {
                throw new IllegalArgumentException("modules.json has a Dense module [" + densePaths.get(0) + "] but " + ColbertConfig.FILE
                    + " declares no ColBERT model (none of " + ColbertConfig.KEYS + "): a Dense layer after pooling must be part of the ONNX "
                    + "graph, with pooling [none] in embedder-model.json");
            }
            Set<Long> punctuation = new HashSet<>();
            ColbertConfig.PUNCTUATION.chars().forEach(c -> {
                Long id = vocabulary.get(String.valueOf((char) c));
                if (id != null) {
                    punctuation.add(id);
                }
            });
            return new TokenEmbedSettings(punctuation, null);
        }
        List<Projection> projections = new ArrayList<>();
        for (String path : densePaths) {
            projections.add(Projection.read(dir.resolve(path), path));
        }
        ColbertConfig colbert = ColbertConfig.read(stConfig, vocabulary, maskToken(dir, vocabulary), projections, densePaths);
        return new TokenEmbedSettings(colbert.skiplistIds(), colbert);
    }

    /** Token string → id: the vocabulary of {@code model.vocab} (a map, or Unigram's list of pairs) and the added tokens. */
    static Map<String, Long> vocabulary(JsonObject tokenizerJson) {
        Map<String, Long> ids = new HashMap<>();
        JsonElement model = tokenizerJson.get("model");
        JsonElement vocab = model != null && model.isJsonObject() ? model.getAsJsonObject().get("vocab") : null;
        if (vocab != null && vocab.isJsonObject()) {
            for (Map.Entry<String, JsonElement> e : vocab.getAsJsonObject().entrySet()) {
                if (e.getValue().isJsonPrimitive() && e.getValue().getAsJsonPrimitive().isNumber()) {
                    ids.put(e.getKey(), e.getValue().getAsLong());
                }
            }
        } else if (vocab != null && vocab.isJsonArray()) {
            long id = 0;
            for (JsonElement piece : vocab.getAsJsonArray()) {
                if (piece.isJsonArray() && !piece.getAsJsonArray().isEmpty()) {
                    ids.putIfAbsent(piece.getAsJsonArray().get(0).getAsString(), id);
                }
                id++;
            }
        }
        JsonElement added = tokenizerJson.get("added_tokens");
        if (added != null && added.isJsonArray()) {
            for (JsonElement t : added.getAsJsonArray()) {
                if (t.isJsonObject() && t.getAsJsonObject().has("content") && t.getAsJsonObject().has("id")) {
                    ids.put(t.getAsJsonObject().get("content").getAsString(), t.getAsJsonObject().get("id").getAsLong());
                }
            }
        }
        return ids;
    }

    /**
     * The tokenizer's mask token: {@code mask_token} of {@code special_tokens_map.json} or {@code tokenizer_config.json}
     * (a string or {@code {"content": ...}}), else {@code [MASK]} or {@code <mask>} when the vocabulary has it.
     */
    static String maskToken(Path dir, Map<String, Long> vocabulary) {
        for (String file : List.of("special_tokens_map.json", "tokenizer_config.json")) {
            JsonObject o = object(dir.resolve(file), file);
            JsonElement mask = o == null ? null : o.get("mask_token");
            if (mask != null && mask.isJsonPrimitive()) {
                return mask.getAsString();
            }
            if (mask != null && mask.isJsonObject() && mask.getAsJsonObject().has("content")) {
                return mask.getAsJsonObject().get("content").getAsString();
            }
        }
        for (String conventional : List.of("[MASK]", "<mask>")) {
            if (vocabulary.containsKey(conventional)) {
                return conventional;
            }
        }
        return null;
    }

    private static JsonObject object(Path file, String label) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            JsonElement e = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
            return e.isJsonObject() ? e.getAsJsonObject() : null;
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + label + ": " + e);
        } catch (JsonParseException e) {
            throw new IllegalArgumentException(label + " is not valid JSON: " + e.getMessage());
        }
    }
}
