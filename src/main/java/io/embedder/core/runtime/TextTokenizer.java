package io.embedder.core.runtime;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.embedder.core.EmbedderException;

import java.nio.file.Path;

/**
 * Our wrapper over a HuggingFace {@code tokenizer.json} (DJL): encodes without the file's own truncation or padding,
 * then cuts to the model's limit itself, so the model's settings (not the tokenizer file's) decide the length.
 */
public final class TextTokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;

    private TextTokenizer(HuggingFaceTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    public static TextTokenizer load(String model, Path tokenizerJson) {
        try {
            return new TextTokenizer(DjlEnvironment.call(() -> HuggingFaceTokenizer.builder()
                .optTokenizerPath(tokenizerJson)
                .optAddSpecialTokens(true)
                .optTruncation(false)
                .optPadding(false)
                .build()));
        } catch (Exception e) {
            throw EmbedderException.invalidModel(model, "cannot load tokenizer [" + tokenizerJson.getFileName() + "]: " + e.getMessage());
        }
    }

    /**
     * Tokenizes {@code text} and truncates it to at most {@code maxTokens} tokens, special tokens included.
     *
     * @throws EmbedderException (bad request) when the text is too long and truncation is {@link Truncation.None},
     *                           or {@code keep last k} leaves no room within {@code maxTokens}
     */
    public TokenizedText encode(String text, int maxTokens, Truncation truncation) {
        String input = sanitize(bound(text, maxTokens, truncation));
        Encoding encoding;
        try {
            encoding = DjlEnvironment.call(() -> tokenizer.encode(input));
        } catch (Exception e) {
            throw new EmbedderException(EmbedderException.Kind.INFERENCE_FAILED, "tokenization failed: " + e.getMessage(), e);
        }
        long[] ids = encoding.getIds();
        long[] types = encoding.getTypeIds();
        long[] special = encoding.getSpecialTokenMask();
        int n = ids.length;
        int lead = 0;
        while (lead < n && special[lead] != 0) {
            lead++;
        }
        int trail = 0;
        while (trail < n - lead && special[n - 1 - trail] != 0) {
            trail++;
        }
        int content = n - lead - trail;
        int room = maxTokens - lead - trail;
        int from;
        int keep;
        switch (truncation) {
            case Truncation.ModelDefault m -> {
                keep = Math.min(content, room);
                from = lead;
            }
            case Truncation.None none -> {
                if (n > maxTokens) {
                    throw EmbedderException.badRequest("text has " + n + " tokens, more than the model's max_tokens [" + maxTokens
                        + "], and truncate_prompt_tokens is [none]");
                }
                keep = content;
                from = lead;
            }
            case Truncation.KeepLast last -> {
                if (last.tokens() > room) {
                    throw EmbedderException.badRequest("truncate_prompt_tokens [" + last.tokens() + "] exceeds the [" + room
                        + "] content tokens the model's max_tokens [" + maxTokens + "] leaves beside its special tokens");
                }
                keep = Math.min(content, last.tokens());
                from = lead + content - keep;
            }
        }
        byte[] kinds = new byte[n];
        for (int i = 0; i < n; i++) {
            kinds[i] = special[i] != 0 ? TokenizedText.SPECIAL : TokenizedText.TEXT;
        }
        if (keep == content) {
            return new TokenizedText(ids, types, n, kinds, null);
        }
        byte[] keptKinds = new byte[lead + keep + trail];
        System.arraycopy(kinds, 0, keptKinds, 0, lead);
        System.arraycopy(kinds, from, keptKinds, lead, keep);
        System.arraycopy(kinds, n - trail, keptKinds, lead + keep, trail);
        return new TokenizedText(cut(ids, lead, from, keep, trail), cut(types, lead, from, keep, trail), n, keptKinds, null);
    }

    /**
     * Characters kept per allowed token before tokenizing. A word piece never spans more than 100 characters
     * (longer words become one unknown token), so cutting a text to {@code max_tokens × 128} characters keeps every
     * token truncation would keep, and bounds the tokenization cost of megabyte texts. Only texts with long runs of
     * whitespace can lose tokens to it.
     */
    static final int CHARS_PER_TOKEN = 128;

    /** The part of {@code text} tokenization needs: its head, or its tail when keeping the last tokens. */
    static String bound(String text, int maxTokens, Truncation truncation) {
        long limit = (long) (maxTokens + 1) * CHARS_PER_TOKEN;
        if (text.length() <= limit) {
            return text;
        }
        return switch (truncation) {
            case Truncation.KeepLast last -> text.substring(text.length() - (int) limit);
            case Truncation.None none -> throw EmbedderException.badRequest("text has " + text.length() + " characters, more than the "
                + limit + " that max_tokens [" + maxTokens + "] allows, and truncate_prompt_tokens is [none]");
            case Truncation.ModelDefault m -> text.substring(0, (int) limit);
        };
    }

    /**
     * Replaces unpaired UTF-16 surrogates (which JSON escapes like {@code "\ud800"} can produce) with U+FFFD, so the
     * native tokenizer only ever sees well-formed text. Returns {@code text} itself when it has none.
     */
    static String sanitize(String text) {
        int n = text.length();
        int i = 0;
        while (i < n) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(text.charAt(i + 1))) {
                i += 2;
            } else if (Character.isSurrogate(c)) {
                break;
            } else {
                i++;
            }
        }
        if (i == n) {
            return text;
        }
        StringBuilder sb = new StringBuilder(n).append(text, 0, i);
        while (i < n) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(text.charAt(i + 1))) {
                sb.append(c).append(text.charAt(i + 1));
                i += 2;
            } else {
                sb.append(Character.isSurrogate(c) ? '\uFFFD' : c);
                i++;
            }
        }
        return sb.toString();
    }

    private static long[] cut(long[] a, int lead, int from, int keep, int trail) {
        long[] out = new long[lead + keep + trail];
        System.arraycopy(a, 0, out, 0, lead);
        System.arraycopy(a, from, out, lead, keep);
        System.arraycopy(a, a.length - trail, out, lead + keep, trail);
        return out;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
