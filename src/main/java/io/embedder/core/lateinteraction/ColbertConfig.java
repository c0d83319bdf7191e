package io.embedder.core.lateinteraction;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A ColBERT-style model's settings, read from its directory as PyLate saves it: the keys of
 * {@code config_sentence_transformers.json} ({@code query_prefix}, {@code document_prefix}, {@code query_length},
 * {@code document_length}, {@code do_query_expansion}, {@code attend_to_expansion_tokens}, {@code skiplist_words}),
 * PyLate's defaults for keys it lacks, and the {@code Dense} modules of {@code modules.json} (projections applied to
 * every token state, in order). Token ids (markers, {@code [MASK]}, skiplist) are resolved against
 * {@code tokenizer.json} at read time.
 *
 * <p>How a text becomes tokens, as PyLate does: the text is tokenized to at most {@code length − 1} tokens
 * ({@code [CLS] … [SEP]}), the role's marker token is inserted after the first token, and a query is padded with
 * {@code [MASK]} to exactly {@code query_length} tokens (query augmentation), which the other tokens do not attend to
 * unless {@code attend_to_expansion_tokens}. Every query token is kept, expansions included; document tokens in the
 * skiplist (punctuation) are dropped; {@code [CLS]}, the marker and {@code [SEP]} stay, as the model was trained.
 *
 * @param queryMarker      the query marker token and its id, or null when {@code query_prefix} is empty
 * @param documentMarker   the document marker token and its id, or null when {@code document_prefix} is empty
 * @param skiplistIds      token ids of {@code skiplist_words} (words that are not a token of the vocabulary are ignored)
 * @param maskTokenId      the {@code [MASK]} token id padding queries; -1 when {@code do_query_expansion} is false
 * @param projections      the Dense modules, in order (possibly none)
 * @param projectionPaths  their directories in the model directory
 * @param sources          per setting, where it came from
 */
public record ColbertConfig(
    Marker queryMarker,
    Marker documentMarker,
    int queryLength,
    int documentLength,
    boolean doQueryExpansion,
    boolean attendToExpansionTokens,
    List<String> skiplistWords,
    Set<Long> skiplistIds,
    long maskTokenId,
    List<Projection> projections,
    List<String> projectionPaths,
    Map<String, String> sources
) {

    /** A marker token ({@code [Q] }, {@code [unused0]}, ...) and its id. */
    public record Marker(String token, long id) {}

    /** The keys of {@code config_sentence_transformers.json} that make a model ColBERT-style (PyLate writes them all). */
    public static final List<String> KEYS = List.of("query_prefix", "document_prefix", "query_length", "document_length",
        "do_query_expansion", "attend_to_expansion_tokens", "skiplist_words");

    /** Python's {@code string.punctuation}: PyLate's default skiplist, and what {@code drop_punctuation} drops elsewhere. */
    public static final String PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    static final String FILE = "config_sentence_transformers.json";

    public ColbertConfig {
        skiplistWords = List.copyOf(skiplistWords);
        skiplistIds = Set.copyOf(skiplistIds);
        projections = List.copyOf(projections);
        projectionPaths = List.copyOf(projectionPaths);
        sources = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(sources));
    }

    /** Whether {@code config} (config_sentence_transformers.json, possibly null) declares a ColBERT-style model. */
    public static boolean declaredIn(JsonObject config) {
        return config != null && KEYS.stream().anyMatch(config::has);
    }

    /**
     * Reads the settings; {@code vocabulary} maps token strings of {@code tokenizer.json} (vocabulary and added tokens)
     * to ids.
     *
     * @throws IllegalArgumentException naming the file, key and value that is invalid
     */
    public static ColbertConfig read(JsonObject config, Map<String, Long> vocabulary, String maskToken, List<Projection> projections,
                                     List<String> projectionPaths) {
        Map<String, String> sources = new LinkedHashMap<>();
        Marker query = marker(config, "query_prefix", "[Q] ", vocabulary, sources);
        Marker document = marker(config, "document_prefix", "[D] ", vocabulary, sources);
        int queryLength = positive(config, "query_length", 32, query == null ? 1 : 2, sources);
        int documentLength = positive(config, "document_length", 180, document == null ? 1 : 2, sources);
        boolean expansion = bool(config, "do_query_expansion", true, sources);
        boolean attend = bool(config, "attend_to_expansion_tokens", false, sources) && expansion; // PyLate: no expansion, nothing to attend
        List<String> words = new ArrayList<>();
        if (config.has("skiplist_words") && !config.get("skiplist_words").isJsonNull()) {
            JsonElement e = config.get("skiplist_words");
            if (!e.isJsonArray()) {
                throw new IllegalArgumentException(FILE + " skiplist_words must be an array of strings, found [" + e + "]");
            }
            for (JsonElement w : e.getAsJsonArray()) {
                if (!w.isJsonPrimitive() || !w.getAsJsonPrimitive().isString()) {
                    throw new IllegalArgumentException(FILE + " skiplist_words must be an array of strings, found [" + w + "]");
                }
                words.add(w.getAsString());
            }
            sources.put("skiplist_words", FILE + " skiplist_words");
        } else {
            PUNCTUATION.chars().forEach(c -> words.add(String.valueOf((char) c)));
            sources.put("skiplist_words", "default (PyLate: string.punctuation)");
        }
        Set<Long> skiplist = new java.util.HashSet<>();
        for (String w : words) {
            Long id = vocabulary.get(w);
            if (id != null) {
                skiplist.add(id);
            }
        }
        long mask = -1;
        if (expansion) {
            Long id = maskToken == null ? null : vocabulary.get(maskToken);
            if (id == null) {
                throw new IllegalArgumentException(FILE + " do_query_expansion is true, but tokenizer.json has no mask token"
                    + (maskToken == null ? "" : " [" + maskToken + "]") + " to pad queries with");
            }
            mask = id;
        }
        sources.put("projections", projectionPaths.isEmpty() ? "none (modules.json has no Dense module)"
            : "modules.json " + String.join(", ", projectionPaths.stream().map(p -> p + "/config.json + " + p + "/model.safetensors").toList()));
        return new ColbertConfig(query, document, queryLength, documentLength, expansion, attend, words, skiplist, mask, projections,
            projectionPaths, sources);
    }

    /** The marker for {@code role}: the query marker when {@code query}, else the document marker (may be null). */
    public Marker marker(boolean query) {
        return query ? queryMarker : documentMarker;
    }

    /** Tokens a text of this role may have, marker and expansion included. */
    public int length(boolean query) {
        return query ? queryLength : documentLength;
    }

    /** Where the output size comes from when there are projections: the last one's {@code out_features}; else null. */
    public String outputDimensionsSource() {
        return projectionPaths.isEmpty() ? null : projectionPaths.get(projectionPaths.size() - 1) + "/config.json out_features";
    }

    /** The output size of the last projection, or {@code hidden} when there is none. */
    public int outputDimensions(int hidden) {
        return projections.isEmpty() ? hidden : projections.get(projections.size() - 1).outFeatures();
    }

    /**
     * Checks the projections chain from the graph's hidden size.
     *
     * @throws IllegalArgumentException when a projection's {@code in_features} does not match its input
     */
    public void checkChain(int hidden) {
        int size = hidden;
        for (int i = 0; i < projections.size(); i++) {
            Projection p = projections.get(i);
            if (p.inFeatures() != size) {
                throw new IllegalArgumentException("Dense module " + (i + 1) + " has in_features " + p.inFeatures() + " but receives " + size
                    + (i == 0 ? " (the ONNX output's size; if the graph already applies the projection, remove the Dense module from modules.json)" : ""));
            }
            size = p.outFeatures();
        }
    }

    /** The settings the models API shows. */
    public Map<String, Object> describe() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("query_prefix", queryMarker == null ? "" : queryMarker.token());
        out.put("document_prefix", documentMarker == null ? "" : documentMarker.token());
        out.put("query_length", queryLength);
        out.put("document_length", documentLength);
        out.put("do_query_expansion", doQueryExpansion);
        out.put("attend_to_expansion_tokens", attendToExpansionTokens);
        out.put("skiplist_words", skiplistWords);
        out.put("projections", projections.stream().map(Projection::describe).toList());
        out.put("sources", sources);
        return out;
    }

    private static Marker marker(JsonObject config, String key, String fallback, Map<String, Long> vocabulary, Map<String, String> sources) {
        String token;
        if (config.has(key) && !config.get(key).isJsonNull()) {
            JsonElement e = config.get(key);
            if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
                throw new IllegalArgumentException(FILE + " " + key + " must be a string, found [" + e + "]");
            }
            token = e.getAsString();
            sources.put(key, FILE + " " + key);
        } else {
            token = fallback;
            sources.put(key, "default (PyLate)");
        }
        if (token.isEmpty()) {
            return null;
        }
        Long id = vocabulary.get(token);
        if (id == null) {
            throw new IllegalArgumentException(FILE + " " + key + " [" + token + "] is not a token of tokenizer.json (neither in its vocabulary nor an added token)");
        }
        return new Marker(token, id);
    }

    private static int positive(JsonObject config, String key, int fallback, int min, Map<String, String> sources) {
        if (!config.has(key) || config.get(key).isJsonNull()) {
            sources.put(key, "default (PyLate)");
            return fallback;
        }
        JsonElement e = config.get(key);
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber() && e.getAsDouble() == Math.rint(e.getAsDouble()) && e.getAsDouble() >= min
            && e.getAsDouble() <= 1 << 16) {
            sources.put(key, FILE + " " + key);
            return e.getAsInt();
        }
        throw new IllegalArgumentException(FILE + " " + key + " [" + e + "] must be an integer from " + min + " to " + (1 << 16));
    }

    private static boolean bool(JsonObject config, String key, boolean fallback, Map<String, String> sources) {
        if (!config.has(key) || config.get(key).isJsonNull()) {
            sources.put(key, "default (PyLate)");
            return fallback;
        }
        JsonElement e = config.get(key);
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isBoolean()) {
            sources.put(key, FILE + " " + key);
            return e.getAsBoolean();
        }
        throw new IllegalArgumentException(FILE + " " + key + " [" + e + "] must be true or false");
    }
}
