package io.embedder.core.model;

import io.embedder.core.lateinteraction.TokenEmbedSettings;
import io.embedder.core.pooling.Pooling;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Everything the embedder needs to know about a model, read once from its directory, each setting with its source.
 *
 * @param name                 directory name, the model's name in every API
 * @param onnxFile             the ONNX graph
 * @param tokenizerFile        the HuggingFace {@code tokenizer.json}
 * @param outputName           the graph output holding token states (or pooled vectors for {@link Pooling#NONE})
 * @param pooling              pooling strategy
 * @param normalize            whether vectors are L2-normalized by default
 * @param maxTokens            tokens the model sees per text, special tokens included
 * @param tokenizerMaxLength   the truncation {@code tokenizer.json} itself carries, or null: shown, never applied
 * @param maxTokenId           the largest token id {@code tokenizer.json} can produce (vocabulary and added tokens)
 * @param dimensions           declared output dimension, or null when only the graph will tell
 * @param prompts              prompt name to prefix ({@code query}, {@code document}, ...)
 * @param defaultPromptName    prompt used when a request names no role, or null
 * @param matryoshkaDimensions sizes the model may be truncated to; empty when it is not Matryoshka
 * @param paddingSide          {@code right} or {@code left}
 * @param tokenEmbed           task token_embed: punctuation tokens, ColBERT settings
 */
public record ModelSpec(
    String name,
    Path onnxFile,
    Path tokenizerFile,
    String outputName,
    Sourced<Pooling> pooling,
    Sourced<Boolean> normalize,
    Sourced<Integer> maxTokens,
    Integer tokenizerMaxLength,
    long maxTokenId,
    Sourced<Integer> dimensions,
    Sourced<Map<String, String>> prompts,
    String defaultPromptName,
    Sourced<List<Integer>> matryoshkaDimensions,
    Sourced<String> paddingSide,
    TokenEmbedSettings tokenEmbed
) {
    /** A spec without token_embed settings (no punctuation known, not ColBERT). */
    public ModelSpec(String name, Path onnxFile, Path tokenizerFile, String outputName, Sourced<Pooling> pooling, Sourced<Boolean> normalize,
                     Sourced<Integer> maxTokens, Integer tokenizerMaxLength, long maxTokenId, Sourced<Integer> dimensions,
                     Sourced<Map<String, String>> prompts, String defaultPromptName, Sourced<List<Integer>> matryoshkaDimensions,
                     Sourced<String> paddingSide) {
        this(name, onnxFile, tokenizerFile, outputName, pooling, normalize, maxTokens, tokenizerMaxLength, maxTokenId, dimensions, prompts,
            defaultPromptName, matryoshkaDimensions, paddingSide, TokenEmbedSettings.NONE);
    }

    /** Prompt names a {@code document} role looks for, in sentence-transformers' order. */
    public static final List<String> DOCUMENT_PROMPT_NAMES = List.of("document", "passage", "corpus");

    public boolean leftPadding() {
        return "left".equals(paddingSide.value());
    }
}
