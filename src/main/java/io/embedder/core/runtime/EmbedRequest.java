package io.embedder.core.runtime;

import io.embedder.core.EmbedParams;
import io.embedder.core.EmbedderException;
import io.embedder.core.Embeddings;
import io.embedder.core.Task;
import io.embedder.core.lateinteraction.TokenEmbedding;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One embedding request on its way through batches: checked against the model and tokenized at creation, each
 * distinct text once (a text repeated in the request is embedded once), then filled row by row by whichever batches
 * its texts end up in. Task {@code token_embed} goes through the request's {@link TokenEmbedding} (ColBERT markers
 * and query expansion at tokenizing, which states are kept and how they are projected and pooled after the run).
 *
 * <p>Each distinct text settles once: pooled ({@link #accept}), failed with its batch ({@link #fail}), or dropped
 * before it ran ({@link #dropped}). The result completes when the last one settles: in input order, or with the first
 * failure. So once the result is complete, no batch is still running a text of the request (the caller may then
 * close the model). Rows may be settled from several threads at once (distinct slots).
 */
final class EmbedRequest {

    private final LoadedModel model;
    private final LoadedModel.BatchObserver observer;
    private final Task task;
    private final boolean normalize;
    private final int outDims;
    private final TokenEmbedding tokenEmbedding;
    /** For each input position, the index of its distinct text. */
    private final int[] slotOf;
    private final TokenizedText[] distinct;
    private final float[][] vectors;
    private final float[][][] tokens;
    private final AtomicInteger unsettled;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final CompletableFuture<Embeddings> result = new CompletableFuture<>();

    /**
     * @param observer told about each ONNX run of the request's texts (with texts of other requests for the same
     *                 model and observer)
     * @throws EmbedderException (bad request) when the parameters do not fit the model or a text cannot be tokenized
     *                           as asked; the message names the text's index
     */
    EmbedRequest(LoadedModel model, EmbedParams params, LoadedModel.BatchObserver observer) {
        this.model = model;
        this.observer = observer;
        this.task = params.task();
        this.outDims = model.checkTask(params);
        this.normalize = params.normalize() != null ? params.normalize() : model.spec().normalize().value();
        this.tokenEmbedding = task == Task.TOKEN_EMBED ? model.tokenEmbedding(params, normalize) : null;
        int modelMaxTokens = model.spec().maxTokens().value();
        int maxTokens = tokenEmbedding == null ? modelMaxTokens : tokenEmbedding.maxTokens(modelMaxTokens);
        List<String> texts = params.texts();
        String prompt = model.prompt(params.role());
        Map<String, Integer> seen = new HashMap<>();
        List<TokenizedText> unique = new ArrayList<>();
        slotOf = new int[texts.size()];
        for (int i = 0; i < texts.size(); i++) {
            Integer slot = seen.get(texts.get(i));
            if (slot == null) {
                slot = unique.size();
                seen.put(texts.get(i), slot);
                TokenizedText t;
                try {
                    t = model.tokenize(prompt, texts.get(i), maxTokens, params.truncation());
                } catch (EmbedderException e) {
                    throw new EmbedderException(e.kind(), "[texts][" + i + "]: " + e.getMessage(), e);
                }
                unique.add(tokenEmbedding == null ? t : tokenEmbedding.prepare(t));
            }
            slotOf[i] = slot;
        }
        distinct = unique.toArray(new TokenizedText[0]);
        vectors = task == Task.EMBED ? new float[distinct.length][] : null;
        tokens = task == Task.TOKEN_EMBED ? new float[distinct.length][][] : null;
        unsettled = new AtomicInteger(distinct.length);
        if (distinct.length == 0) {
            complete();
        }
    }

    LoadedModel model() {
        return model;
    }

    LoadedModel.BatchObserver observer() {
        return observer;
    }

    Task task() {
        return task;
    }

    /** Distinct texts to run. */
    int size() {
        return distinct.length;
    }

    TokenizedText text(int slot) {
        return distinct[slot];
    }

    /** Whether a text of the request failed: its texts still waiting need not run. */
    boolean failed() {
        return failure.get() != null;
    }

    /**
     * Turns row {@code row} of {@code states} into distinct text {@code slot}'s output, and settles it. Throws (and
     * leaves the slot unsettled) when that fails; the caller then {@link #fail}s it.
     */
    void accept(int slot, HiddenStates states, int row) {
        if (!failed()) {
            if (vectors != null) {
                vectors[slot] = model.pooled(states, row, normalize, outDims);
            } else {
                TokenizedText text = distinct[slot];
                tokens[slot] = tokenEmbedding.vectors(states, row, model.paddingBefore(text, states.seq()), text);
            }
        }
        settle();
    }

    /**
     * Distinct text {@code slot} failed (its batch did, or the scheduler closed before it ran): the request fails with
     * the first cause once its other texts settle.
     */
    void fail(int slot, Throwable cause) {
        failure.compareAndSet(null, cause);
        settle();
    }

    /** A distinct text of a request that {@link #failed} already will not run. */
    void dropped() {
        settle();
    }

    CompletableFuture<Embeddings> result() {
        return result;
    }

    private void settle() {
        if (unsettled.decrementAndGet() == 0) {
            Throwable cause = failure.get();
            if (cause != null) {
                result.completeExceptionally(cause);
            } else {
                complete();
            }
        }
    }

    private void complete() {
        boolean[] given = new boolean[distinct.length];
        List<float[]> v = vectors == null ? List.of() : new ArrayList<>(slotOf.length);
        List<float[][]> t = tokens == null ? List.of() : new ArrayList<>(slotOf.length);
        for (int slot : slotOf) {
            // a repeated text gets its own copy, so no caller sees another position's array change
            boolean copy = given[slot];
            given[slot] = true;
            if (vectors != null) {
                v.add(copy ? vectors[slot].clone() : vectors[slot]);
            } else {
                t.add(copy ? Arrays.stream(tokens[slot]).map(float[]::clone).toArray(float[][]::new) : tokens[slot]);
            }
        }
        result.complete(new Embeddings(model.spec().name(), task, task == Task.EMBED ? outDims : tokenEmbedding.dimensions(), v, t));
    }
}
