package io.embedder.core.runtime;

import io.embedder.core.EmbedParams;
import io.embedder.core.EmbedderException;
import io.embedder.core.Embeddings;
import io.embedder.core.Task;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One embedding request on its way through batches: checked against the model and tokenized at creation, each
 * distinct text once (a text repeated in the request is embedded once), then filled row by row by whichever batches
 * its texts end up in. Completes when its last text is pooled, in input order; fails as a whole on the first error.
 * Rows may be accepted from several threads at once (distinct slots).
 */
final class EmbedRequest {

    private final LoadedModel model;
    private final Task task;
    private final boolean normalize;
    private final int outDims;
    /** For each input position, the index of its distinct text. */
    private final int[] slotOf;
    private final TokenizedText[] distinct;
    private final float[][] vectors;
    private final float[][][] tokens;
    private final AtomicInteger remaining;
    private final CompletableFuture<Embeddings> result = new CompletableFuture<>();

    /**
     * @throws EmbedderException (bad request) when the parameters do not fit the model or a text cannot be tokenized
     *                           as asked; the message names the text's index
     */
    EmbedRequest(LoadedModel model, EmbedParams params) {
        this.model = model;
        this.task = params.task();
        this.outDims = model.checkTask(params);
        this.normalize = params.normalize() != null ? params.normalize() : model.spec().normalize().value();
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
                try {
                    unique.add(model.tokenize(prompt, texts.get(i), params.truncation()));
                } catch (EmbedderException e) {
                    throw new EmbedderException(e.kind(), "[texts][" + i + "]: " + e.getMessage(), e);
                }
            }
            slotOf[i] = slot;
        }
        distinct = unique.toArray(new TokenizedText[0]);
        vectors = task == Task.EMBED ? new float[distinct.length][] : null;
        tokens = task == Task.TOKEN_EMBED ? new float[distinct.length][][] : null;
        remaining = new AtomicInteger(distinct.length);
        if (distinct.length == 0) {
            complete();
        }
    }

    LoadedModel model() {
        return model;
    }

    /** Distinct texts to run. */
    int size() {
        return distinct.length;
    }

    TokenizedText text(int slot) {
        return distinct[slot];
    }

    boolean isDone() {
        return result.isDone();
    }

    /** Pools row {@code row} of {@code states} as distinct text {@code slot}; the last one completes the request. */
    void accept(int slot, HiddenStates states, int row) {
        if (vectors != null) {
            vectors[slot] = model.pooled(states, row, normalize, outDims);
        } else {
            tokens[slot] = LoadedModel.tokenStates(states, row, normalize);
        }
        if (remaining.decrementAndGet() == 0) {
            complete();
        }
    }

    void fail(Throwable cause) {
        result.completeExceptionally(cause);
    }

    CompletableFuture<Embeddings> result() {
        return result;
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
        result.complete(new Embeddings(model.spec().name(), task, task == Task.EMBED ? outDims : model.dimensions(), v, t));
    }
}
