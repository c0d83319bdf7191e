package io.embedder.core;

import io.embedder.core.model.ModelSpec;
import io.embedder.core.model.ModelSpecReader;
import io.embedder.core.runtime.DjlEnvironment;
import io.embedder.core.runtime.InferenceScheduler;
import io.embedder.core.runtime.LoadedModel;
import io.embedder.core.stats.ModelCounters;
import io.embedder.core.stats.ModelStats;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The node's one embedder: model directories under {@code modelsDir}, each loaded on first use (or by {@link #load})
 * and then shared until {@link #unload}; per-model counters for the stats API. All native work runs on its
 * {@link InferenceScheduler}'s threads, which batch texts across concurrent requests and serve query-role texts first.
 * Thread-safe. Has no OpenSearch types, so it is tested alone.
 */
public final class Embedder implements Closeable {

    /** Model names are plain directory names: never a path. */
    private static final Pattern MODEL_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private final Path modelsDir;
    private final LoadedModel.Limits limits;
    private final Map<String, Resident> loaded = new ConcurrentHashMap<>();
    private final Map<String, ModelCounters> counters = new ConcurrentHashMap<>();
    private final InferenceScheduler scheduler;
    private volatile boolean closed;

    /**
     * Stack of the threads that run native code. ONNX Runtime needs more than the JVM's default 1 MB to create a
     * session (measured: a session of bge-small crashes the JVM with SIGSEGV on a 1 MB thread and loads on a 2 MB one),
     * and a native stack overflow kills the node rather than throwing. Only touched pages are committed.
     */
    static final long NATIVE_STACK_BYTES = 16L << 20;

    public Embedder(Path modelsDir, LoadedModel.Limits limits, Path nativeCacheDir) {
        this.modelsDir = modelsDir.toAbsolutePath().normalize();
        this.limits = limits;
        DjlEnvironment.configure(nativeCacheDir);
        this.scheduler = new InferenceScheduler(limits.inferenceThreads(), limits.queryThreads(), limits, NATIVE_STACK_BYTES);
    }

    public Path modelsDir() {
        return modelsDir;
    }

    /** Names of the model directories, sorted. */
    public List<String> modelNames() {
        if (!Files.isDirectory(modelsDir)) {
            return List.of();
        }
        try (Stream<Path> dirs = Files.list(modelsDir)) {
            return dirs.filter(Files::isDirectory).map(p -> p.getFileName().toString())
                .filter(n -> MODEL_NAME.matcher(n).matches()).sorted().toList();
        } catch (IOException e) {
            throw new EmbedderException(EmbedderException.Kind.INFERENCE_FAILED, "cannot list models in [" + modelsDir + "]: " + e.getMessage(), e);
        }
    }

    /** Reads a model's spec from its files (not cached: the models API shows what is on disk). */
    public ModelSpec spec(String name) {
        return ModelSpecReader.read(name, directory(name));
    }

    /** The loaded model, when it has been used or loaded already. */
    public Optional<LoadedModel> loadedModel(String name) {
        Resident r = name == null ? null : loaded.get(name);
        return r == null ? Optional.empty() : Optional.of(r.model());
    }

    /**
     * Loads the model from its directory now and runs a warm-up through it, then serves it: a model already in memory
     * is replaced, and its old copy is closed once the calls using it are done. On failure, the copy in memory (if any)
     * keeps serving. Runs on a native thread; the caller waits.
     */
    public LoadResult load(String name) {
        return onNativeThread(() -> {
            Path dir = directory(name);
            ModelCounters c = counters(name);
            ModelSpec spec;
            LoadedModel model;
            long start = System.nanoTime();
            try {
                spec = ModelSpecReader.read(name, dir);
                model = LoadedModel.load(spec, limits);
            } catch (RuntimeException e) {
                c.loadFailed();
                throw e;
            }
            long loadedAt = System.nanoTime();
            try {
                model.warmUp();
            } catch (RuntimeException e) {
                model.close();
                c.loadFailed();
                throw e;
            }
            long warmedAt = System.nanoTime();
            Resident previous = loaded.put(name, new Resident(model));
            if (previous != null) {
                previous.retire();
            }
            c.loaded(loadedAt - start, warmedAt - loadedAt, model.onnxFileBytes(), model.estimatedNativeBytes());
            return new LoadResult(spec, model.dimensions(), previous != null, (loadedAt - start) / 1_000_000, (warmedAt - loadedAt) / 1_000_000);
        });
    }

    /**
     * What {@link #load} did.
     *
     * @param replaced a copy was in memory and was replaced (a reload)
     */
    public record LoadResult(ModelSpec spec, int dimensions, boolean replaced, long loadMillis, long warmupMillis) {}

    /**
     * Takes the model out of memory: its copy is closed once the calls using it are done. The next call that needs it
     * loads it again. Returns false when it was not loaded; an unknown or invalid name is an error.
     */
    public boolean unload(String name) {
        checkOpen();
        Resident r = name == null ? null : loaded.remove(name);
        if (r == null) {
            directory(name);
            return false;
        }
        r.retire();
        counters(name).unloaded();
        return true;
    }

    /**
     * Hands {@code work}, a call of {@link #embed} for {@code model}, to {@code pool} (the node's inference pool),
     * counting it as queued until it starts, and as a rejection if the pool refuses it (the exception is rethrown).
     */
    public void submit(String model, Executor pool, Runnable work) {
        ModelCounters c = knownCounters(model);
        if (c == null) {
            pool.execute(work);
            return;
        }
        c.queued();
        try {
            pool.execute(() -> {
                c.dequeued();
                work.run();
            });
        } catch (RuntimeException rejected) {
            c.dequeued();
            c.rejected();
            throw rejected;
        }
    }

    /**
     * Embeds on the embedder's native threads (large stacks), loading the model first if needed; the caller waits.
     * Callers bound the concurrency (the node's {@code embedder} thread pools do).
     */
    public Embeddings embed(String model, EmbedParams params) {
        return await(embedAsync(model, params));
    }

    /**
     * {@link #embed} without waiting: completes on a native thread once the request's last text is embedded. The
     * request keeps the copy of the model it started on until then, even if the model is reloaded or unloaded meanwhile.
     */
    public CompletableFuture<Embeddings> embedAsync(String model, EmbedParams params) {
        long start = System.nanoTime();
        boolean hit = model != null && loaded.containsKey(model);
        return acquire(model, params.role()).thenCompose(r -> {
            ModelCounters c = counters(model);
            c.started(hit);
            return scheduler.embed(r.model(), params, c).whenComplete((result, failure) -> {
                r.release();
                if (failure == null) {
                    c.succeeded(params.texts().size(), System.nanoTime() - start);
                } else {
                    c.failed();
                }
            });
        });
    }

    /** The model's full output dimensions, loading it on first use (on a native thread; the caller waits). */
    public int dimensions(String model) {
        Resident r = await(acquire(model, null));
        try {
            return r.model().dimensions();
        } finally {
            r.release();
        }
    }

    /** Whether the model L2-normalizes its vectors when a request leaves it to the model, loading it on first use. */
    public boolean normalizes(String model) {
        Resident r = await(acquire(model, null));
        try {
            return r.model().spec().normalize().value();
        } finally {
            r.release();
        }
    }

    /** Each model's counters: every model directory, and models that were used and are gone from disk. Sorted by name. */
    public List<ModelStats> stats() {
        Set<String> names = new TreeSet<>(counters.keySet());
        names.addAll(loaded.keySet());
        names.addAll(modelNames());
        List<ModelStats> out = new ArrayList<>(names.size());
        for (String name : names) {
            ModelCounters c = counters.get(name);
            Resident r = loaded.get(name);
            out.add(c == null ? ModelStats.none(name) : c.snapshot(r == null ? null : r.model()));
        }
        return out;
    }

    /**
     * The model in memory, used by the caller until it calls {@link Resident#release}: at once when it is loaded, else
     * once a native thread (in the lane of {@code role}) has loaded it.
     */
    private CompletableFuture<Resident> acquire(String name, Role role) {
        Resident r = name == null || closed ? null : loaded.get(name);
        if (r != null && r.tryAcquire()) {
            return CompletableFuture.completedFuture(r);
        }
        return scheduler.call(() -> acquireOrLoad(name), role);
    }

    /** {@link #acquire}, loading the model if needed: on a native thread only (loading creates the ONNX session). */
    private Resident acquireOrLoad(String name) {
        while (true) {
            checkOpen();
            Resident r = name == null ? null : loaded.get(name);
            if (r == null) {
                Path dir = directory(name);
                ModelCounters c = counters(name);
                r = loaded.computeIfAbsent(name, n -> {
                    try {
                        long start = System.nanoTime();
                        LoadedModel model = LoadedModel.load(ModelSpecReader.read(n, dir), limits);
                        c.loaded(System.nanoTime() - start, 0, model.onnxFileBytes(), model.estimatedNativeBytes());
                        return new Resident(model);
                    } catch (RuntimeException e) {
                        c.loadFailed();
                        throw e;
                    }
                });
            }
            if (r.tryAcquire()) {
                return r;
            }
            // unloaded or replaced since we looked it up: look again
        }
    }

    private ModelCounters counters(String name) {
        return counters.computeIfAbsent(name, ModelCounters::new);
    }

    /** Counters of a model that is in memory or on disk; null for a name that is neither (the call will fail anyway). */
    private ModelCounters knownCounters(String name) {
        ModelCounters c = name == null ? null : counters.get(name);
        if (c != null) {
            return c;
        }
        boolean onDisk = name != null && MODEL_NAME.matcher(name).matches() && Files.isDirectory(modelsDir.resolve(name));
        return onDisk ? counters(name) : null;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the embedder is closed");
        }
    }

    /** Runs {@code work} on a native thread (document lane); the caller waits. */
    private <T> T onNativeThread(Callable<T> work) {
        checkOpen();
        return await(scheduler.call(work, null));
    }

    /** The future's value; its failure rethrown as it was when unchecked. */
    private static <T> T await(CompletableFuture<T> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EmbedderException(EmbedderException.Kind.INFERENCE_FAILED, "interrupted while embedding", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof CompletionException c && c.getCause() != null ? c.getCause() : e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new EmbedderException(EmbedderException.Kind.INFERENCE_FAILED, "embedding failed: " + cause, cause);
        }
    }

    private Path directory(String name) {
        if (name == null || !MODEL_NAME.matcher(name).matches()) {
            throw EmbedderException.badRequest("invalid model name [" + name + "]: letters, digits, '.', '_' and '-' only, "
                + "not starting with '.' or '-' (a model is a directory directly under the models directory)");
        }
        Path dir = modelsDir.resolve(name).normalize();
        if (!dir.getParent().equals(modelsDir) || !Files.isDirectory(dir)) {
            throw new EmbedderException(EmbedderException.Kind.NOT_FOUND, "model [" + name + "] not found; available: " + modelNames());
        }
        return dir;
    }

    @Override
    public void close() {
        closed = true;
        scheduler.close();
        List<RuntimeException> failures = new ArrayList<>();
        for (String name : List.copyOf(loaded.keySet())) {
            Resident r = loaded.remove(name);
            if (r != null) {
                try {
                    r.retire();
                } catch (RuntimeException e) {
                    failures.add(e);
                }
            }
        }
        if (!failures.isEmpty()) {
            throw failures.get(0);
        }
    }
}
