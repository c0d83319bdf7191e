package io.embedder.core.runtime;

import io.embedder.core.EmbedParams;
import io.embedder.core.Embeddings;
import io.embedder.core.Role;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Runs all of the embedder's native work on its own large-stack threads, and batches texts across requests.
 *
 * <p>Requests are tokenized on these threads, then their texts wait in one of two lanes, query (role query) and
 * document (everything else). A free thread takes, in this order: a query task (tokenizing, loading), a query
 * batch, a document task, a document batch. The waiting texts of a lane for the same model are cut into batches
 * the cheapest way ({@link BatchPlanner#plan}: runs of similar lengths within the token budget and the batch size),
 * and the batch holding the lane's longest-waiting text runs ({@link BatchPlanner#containing}): texts from concurrent
 * bulks and searches share ONNX runs, padded only to the batch's longest text. When all of a lane's waiting texts
 * make one document batch that is not full, it waits up to {@code maxWait} after its oldest text arrived, for more
 * texts; a query batch never waits.
 * Each batch is told to its requests' {@link LoadedModel.BatchObserver} (a batch holds texts of one observer).
 *
 * <p>{@code threads} threads take any work: with one ONNX Runtime thread each, as many as cores, so concurrent
 * batches do not oversubscribe them. {@code queryThreads} more threads take only query-lane work, so a search does
 * not wait behind a document batch already running; while query work runs, no new document batch starts beyond
 * {@code threads} running in all, so the cores are oversubscribed at most until the document batches already
 * running end (one batch: the token budget keeps it short).
 */
public final class InferenceScheduler implements AutoCloseable {

    private enum Lane { QUERY, DOCUMENT }

    /** Work for a thread, and the future its caller waits on (failed if the scheduler closes before it runs). */
    private record Task(Runnable work, CompletableFuture<?> future) {}

    /** A distinct text of a request, waiting for a batch. */
    private record Waiting(EmbedRequest request, int slot, long since) {
        int length() {
            return request.text(slot).length();
        }
    }

    private final int maxBatchSize;
    private final int tokenBudget;
    private final long maxWaitNanos;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition workArrived = lock.newCondition();
    private final Map<Lane, ArrayDeque<Task>> tasks = Map.of(Lane.QUERY, new ArrayDeque<>(), Lane.DOCUMENT, new ArrayDeque<>());
    private final Map<Lane, List<Waiting>> waiting = Map.of(Lane.QUERY, new ArrayList<>(), Lane.DOCUMENT, new ArrayList<>());
    private final List<Thread> threads = new ArrayList<>();
    /** Threads that take any work; the query threads come on top. */
    private final int threadCount;
    /** Threads running work of each lane now. */
    private final Map<Lane, Integer> running = new java.util.EnumMap<>(Map.of(Lane.QUERY, 0, Lane.DOCUMENT, 0));
    private boolean closed;

    /**
     * @param stackBytes the threads' stack size: ONNX Runtime needs more than the JVM's default to create a session
     */
    public InferenceScheduler(int threads, int queryThreads, LoadedModel.Limits limits, long stackBytes) {
        this.maxBatchSize = limits.maxBatchSize();
        this.tokenBudget = limits.tokenBudget();
        this.maxWaitNanos = TimeUnit.MICROSECONDS.toNanos(limits.maxWaitMicros());
        this.threadCount = threads;
        for (int i = 0; i < threads + queryThreads; i++) {
            boolean queryOnly = i >= threads;
            Thread t = new Thread(null, () -> work(queryOnly), "embedder-native-" + (i + 1) + (queryOnly ? "-query" : ""), stackBytes);
            t.setDaemon(true);
            this.threads.add(t);
        }
        this.threads.forEach(Thread::start);
    }

    /** Runs {@code work} on one of the threads, in the lane of {@code role}. */
    public <T> CompletableFuture<T> call(Callable<T> work, Role role) {
        CompletableFuture<T> future = new CompletableFuture<>();
        add(lane(role), () -> {
            try {
                future.complete(work.call());
            } catch (Throwable e) {
                future.completeExceptionally(e);
            }
        }, future);
        return future;
    }

    /** {@link #embed(LoadedModel, EmbedParams, LoadedModel.BatchObserver)} observed by no one. */
    public CompletableFuture<Embeddings> embed(LoadedModel model, EmbedParams params) {
        return embed(model, params, LoadedModel.BatchObserver.NONE);
    }

    /**
     * Tokenizes the request's texts on one of the threads, then runs them in batches, each batch told to
     * {@code observer}; completes with the embeddings, or with the first failure once none of the request's texts
     * runs any more (so the caller may close the model then).
     */
    public CompletableFuture<Embeddings> embed(LoadedModel model, EmbedParams params, LoadedModel.BatchObserver observer) {
        CompletableFuture<Embeddings> future = new CompletableFuture<>();
        Lane lane = lane(params.role());
        add(lane, () -> {
            EmbedRequest request;
            try {
                request = new EmbedRequest(model, params, observer);
            } catch (Throwable e) {
                future.completeExceptionally(e);
                return;
            }
            request.result().whenComplete((result, failure) -> {
                if (failure != null) {
                    future.completeExceptionally(failure);
                } else {
                    future.complete(result);
                }
            });
            enqueue(lane, request);
        }, future);
        return future;
    }

    private static Lane lane(Role role) {
        return role == Role.QUERY ? Lane.QUERY : Lane.DOCUMENT;
    }

    private void add(Lane lane, Runnable task, CompletableFuture<?> future) {
        lock.lock();
        try {
            if (closed) {
                future.completeExceptionally(new IllegalStateException("the embedder is closed"));
                return;
            }
            tasks.get(lane).add(new Task(task, future));
            workArrived.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void enqueue(Lane lane, EmbedRequest request) {
        if (request.size() == 0) {
            return;
        }
        long now = System.nanoTime();
        lock.lock();
        try {
            if (closed) {
                for (int slot = 0; slot < request.size(); slot++) {
                    request.fail(slot, new IllegalStateException("the embedder is closed"));
                }
                return;
            }
            for (int slot = 0; slot < request.size(); slot++) {
                waiting.get(lane).add(new Waiting(request, slot, now));
            }
            workArrived.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Work a thread took, and the lane it counts against while it runs. */
    private record Taken(Lane lane, Object work) {}

    private void work(boolean queryOnly) {
        BatchBuffers buffers = new BatchBuffers();
        while (true) {
            Taken next;
            try {
                next = next(queryOnly);
            } catch (InterruptedException e) {
                return;
            }
            if (next == null) {
                return;
            }
            try {
                if (next.work() instanceof Task task) {
                    task.work().run();
                } else {
                    @SuppressWarnings("unchecked")
                    List<Waiting> batch = (List<Waiting>) next.work();
                    run(batch, buffers);
                }
            } finally {
                lock.lock();
                try {
                    running.merge(next.lane(), -1, Integer::sum);
                    workArrived.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    /**
     * The next task or batch for a thread, by lane priority; null once closed. Blocks while there is none. Document
     * work is taken only while fewer than {@code threads} threads run anything, so while query work runs (on the
     * query threads) a document batch that ends is not followed by another: queries get their core back within one
     * batch.
     */
    private Taken next(boolean queryOnly) throws InterruptedException {
        lock.lock();
        try {
            while (!closed) {
                long waitNanos = Long.MAX_VALUE;
                for (Lane lane : queryOnly ? List.of(Lane.QUERY) : List.of(Lane.QUERY, Lane.DOCUMENT)) {
                    if (lane == Lane.DOCUMENT && running.get(Lane.QUERY) + running.get(Lane.DOCUMENT) >= threadCount) {
                        break;
                    }
                    if (!tasks.get(lane).isEmpty()) {
                        return take(lane, tasks.get(lane).poll());
                    }
                    dropFinished(waiting.get(lane));
                    if (!waiting.get(lane).isEmpty()) {
                        Planned planned = batch(waiting.get(lane));
                        List<Waiting> batch = planned.batch();
                        boolean mayGrow = lane == Lane.DOCUMENT && planned.allWaiting() && !full(batch);
                        long left = mayGrow ? waiting.get(lane).get(0).since() + maxWaitNanos - System.nanoTime() : 0;
                        if (left <= 0) {
                            Set<Waiting> taken = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
                            taken.addAll(batch);
                            waiting.get(lane).removeIf(taken::contains);
                            return take(lane, batch);
                        }
                        waitNanos = left;
                        break; // a document batch filling up: wait for more texts, or for its time
                    }
                }
                if (waitNanos == Long.MAX_VALUE) {
                    workArrived.await();
                } else {
                    workArrived.awaitNanos(waitNanos);
                }
            }
            return null;
        } finally {
            lock.unlock();
        }
    }

    private Taken take(Lane lane, Object work) {
        running.merge(lane, 1, Integer::sum);
        return new Taken(lane, work);
    }

    /**
     * Texts of requests that already failed are not run. (Under the lock: settling the last text completes its
     * request, whose callbacks then run under it; the lock is reentrant.)
     */
    private static void dropFinished(List<Waiting> lane) {
        lane.removeIf(w -> {
            if (w.request().failed()) {
                w.request().dropped();
                return true;
            }
            return false;
        });
    }

    /** A batch to run, and whether it holds all the texts waiting for its model (so more could still join it). */
    private record Planned(List<Waiting> batch, boolean allWaiting) {}

    /**
     * The batch of the lane's longest-waiting text, in the cheapest cut of the texts waiting for the same model (the
     * same copy), the same observer and the same graph of it (dense and token-level texts of a model that runs a
     * first-token graph run apart).
     */
    private Planned batch(List<Waiting> lane) {
        EmbedRequest oldest = lane.get(0).request();
        List<Waiting> sameModel = new ArrayList<>();
        for (Waiting w : lane) {
            if (w.request().model() == oldest.model() && w.request().observer() == oldest.observer()
                && w.request().model().encoder(w.request().task()) == oldest.model().encoder(oldest.task())) {
                sameModel.add(w);
            }
        }
        int[] lengths = sameModel.stream().mapToInt(Waiting::length).toArray();
        List<Waiting> batch = new ArrayList<>();
        double paddingCost = oldest.model().encoder(oldest.task()).paddingCost();
        for (int i : BatchPlanner.containing(lengths, 0, maxBatchSize, tokenBudget, paddingCost)) {
            batch.add(sameModel.get(i));
        }
        return new Planned(batch, batch.size() == sameModel.size());
    }

    /** Whether no other text of the batch's length would still fit. */
    private boolean full(List<Waiting> batch) {
        int longest = batch.stream().mapToInt(Waiting::length).max().orElse(0);
        return batch.size() >= maxBatchSize || (long) (batch.size() + 1) * longest > tokenBudget;
    }

    /** Runs one batch; a failure fails the texts it hits: all of them if the run fails, else the one whose output did. */
    private static void run(List<Waiting> batch, BatchBuffers buffers) {
        EmbedRequest first = batch.get(0).request();
        List<TokenizedText> texts = new ArrayList<>(batch.size());
        for (Waiting w : batch) {
            texts.add(w.request().text(w.slot()));
        }
        HiddenStates states;
        try {
            states = first.model().run(texts, buffers, first.observer(), first.task());
        } catch (Throwable e) {
            for (Waiting w : batch) {
                w.request().fail(w.slot(), e);
            }
            return;
        }
        for (int row = 0; row < batch.size(); row++) {
            Waiting w = batch.get(row);
            try {
                w.request().accept(w.slot(), states, row);
            } catch (Throwable e) {
                w.request().fail(w.slot(), e);
            }
        }
    }

    /** Stops taking work, fails what waits, and lets running work finish (up to {@code timeoutMillis}). */
    @Override
    public void close() {
        close(30_000);
    }

    void close(long timeoutMillis) {
        lock.lock();
        try {
            closed = true;
            for (Lane lane : Lane.values()) {
                for (Task t : tasks.get(lane)) {
                    t.future().completeExceptionally(new IllegalStateException("the embedder is closed"));
                }
                tasks.get(lane).clear();
                for (Waiting w : waiting.get(lane)) {
                    w.request().fail(w.slot(), new IllegalStateException("the embedder is closed"));
                }
                waiting.get(lane).clear();
            }
            workArrived.signalAll();
        } finally {
            lock.unlock();
        }
        long deadline = System.currentTimeMillis() + timeoutMillis;
        for (Thread t : threads) {
            try {
                t.join(Math.max(1, deadline - System.currentTimeMillis()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
