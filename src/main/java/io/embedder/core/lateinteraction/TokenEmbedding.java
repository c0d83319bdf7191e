package io.embedder.core.lateinteraction;

import io.embedder.core.EmbedderException;
import io.embedder.core.Role;
import io.embedder.core.pooling.VectorOps;
import io.embedder.core.runtime.HiddenStates;
import io.embedder.core.runtime.TokenizedText;

import java.util.ArrayList;
import java.util.List;

/**
 * Task {@code token_embed} for one request: how texts are tokenized (for a ColBERT-style model: its marker and query
 * augmentation, see {@link ColbertConfig}) and which token states become vectors: projected (a ColBERT model's Dense
 * modules), L2-normalized per token, and for documents optionally pooled ({@link TokenPooling}).
 *
 * <p>Which tokens are kept, by default: for a bi-encoder, every token of the text (the prompt's included) but the
 * tokenizer's special tokens ([CLS], [SEP]) and padding; for a ColBERT model what PyLate keeps (the markers, [CLS]
 * and [SEP] as trained; a query's expansion tokens; a document's tokens minus the skiplist). The request's
 * {@link TokenOptions} can drop special tokens or punctuation either way; a query's expansion tokens are always kept.
 */
public final class TokenEmbedding {

    private final ColbertConfig colbert;
    private final boolean query;
    private final boolean dropSpecial;
    private final boolean dropPunctuation;
    private final TokenEmbedSettings settings;
    private final int poolFactor;
    private final boolean normalize;
    private final int dimensions;

    private TokenEmbedding(TokenEmbedSettings settings, boolean query, TokenOptions options, boolean normalize, int hidden) {
        this.settings = settings;
        this.colbert = settings.colbert();
        this.query = query;
        this.dropSpecial = options.dropSpecialTokens() != null ? options.dropSpecialTokens() : colbert == null;
        this.dropPunctuation = options.dropPunctuation() != null ? options.dropPunctuation() : colbert != null && !query;
        this.poolFactor = options.poolFactor();
        this.normalize = normalize;
        this.dimensions = colbert == null ? hidden : colbert.outputDimensions(hidden);
    }

    /**
     * Checks the request against the model.
     *
     * @param hidden the size of the graph's token states
     * @throws EmbedderException (bad request) when a ColBERT model gets no role, or {@code pool_factor} is set for a
     *                           text that is not a document
     */
    public static TokenEmbedding of(String model, TokenEmbedSettings settings, Role role, TokenOptions options, boolean normalize, int hidden) {
        if (settings.colbert() != null && role == null) {
            throw EmbedderException.badRequest("model [" + model + "] is ColBERT-style: task [token_embed] needs [role] [query] or [document] "
                + "(queries and documents get different markers and lengths)");
        }
        if (options.poolFactor() > 1 && role != Role.DOCUMENT) {
            throw EmbedderException.badRequest("[" + TokenOptions.POOL_FACTOR + "] [" + options.poolFactor() + "] pools documents only: "
                + "use [role] [document] or omit [" + TokenOptions.POOL_FACTOR + "]");
        }
        return new TokenEmbedding(settings, role == Role.QUERY, options, normalize, hidden);
    }

    /** Size of the output vectors (the last projection's, else the graph's). */
    public int dimensions() {
        return dimensions;
    }

    /** The token limit to tokenize with: a ColBERT model's query or document length, less its marker. */
    public int maxTokens(int modelMaxTokens) {
        if (colbert == null) {
            return modelMaxTokens;
        }
        return colbert.length(query) - (colbert.marker(query) == null ? 0 : 1);
    }

    /**
     * For a ColBERT model: the marker inserted after the first token, and a query padded with the mask token to exactly
     * {@code query_length} tokens (attended only when {@code attend_to_expansion_tokens}). Other models: unchanged.
     */
    public TokenizedText prepare(TokenizedText text) {
        if (colbert == null) {
            return text;
        }
        ColbertConfig.Marker marker = colbert.marker(query);
        int n = text.length() + (marker == null ? 0 : 1);
        int total = query && colbert.doQueryExpansion() ? Math.max(n, colbert.queryLength()) : n;
        long[] ids = new long[total];
        long[] types = new long[total];
        byte[] kinds = new byte[total];
        long[] attention = new long[total];
        int at = 0;
        for (int i = 0; i < text.length(); i++) {
            if (i == 1 && marker != null) {
                ids[at] = marker.id();
                kinds[at] = TokenizedText.SPECIAL;
                attention[at++] = 1;
            }
            ids[at] = text.ids()[i];
            types[at] = text.typeIds()[i];
            kinds[at] = text.kinds()[i];
            attention[at++] = text.attention() == null ? 1 : text.attention()[i];
        }
        if (marker != null && text.length() == 1) {
            ids[at] = marker.id();
            kinds[at] = TokenizedText.SPECIAL;
            attention[at++] = 1;
        }
        for (; at < total; at++) {
            ids[at] = colbert.maskTokenId();
            kinds[at] = TokenizedText.EXPANSION;
            attention[at] = colbert.attendToExpansionTokens() ? 1 : 0;
        }
        return new TokenizedText(ids, types, text.untruncatedLength(), kinds, attention);
    }

    /**
     * The output vectors of one text: row {@code row} of {@code states}, its tokens at {@code offset ..} (after left
     * padding, if any), filtered, projected, normalized and (documents) pooled.
     */
    public float[][] vectors(HiddenStates states, int row, int offset, TokenizedText text) {
        int dim = states.dim();
        List<float[]> kept = new ArrayList<>(text.length());
        boolean leadingSpecial = false;
        for (int t = 0; t < text.length(); t++) {
            byte kind = text.kinds()[t];
            if (kind != TokenizedText.EXPANSION && ((dropSpecial && kind == TokenizedText.SPECIAL)
                || (dropPunctuation && settings.punctuationIds().contains(text.ids()[t])))) {
                continue;
            }
            if (kept.isEmpty()) {
                leadingSpecial = kind == TokenizedText.SPECIAL;
            }
            int from = (row * states.seq() + offset + t) * dim;
            float[] v = new float[dim];
            states.data().get(from, v, 0, dim);
            if (colbert != null) {
                for (Projection p : colbert.projections()) {
                    v = p.apply(v);
                }
            }
            if (normalize) {
                VectorOps.l2Normalize(v);
            }
            kept.add(v);
        }
        float[][] vectors = kept.toArray(new float[0][]);
        // a leading [CLS] stays out of pooling, as PyLate keeps it
        return poolFactor > 1 ? TokenPooling.pool(vectors, poolFactor, leadingSpecial ? 1 : 0, normalize) : vectors;
    }
}
