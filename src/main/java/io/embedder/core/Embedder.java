package io.embedder.core;

import io.embedder.core.model.ModelSpec;
import io.embedder.core.model.ModelSpecReader;
import io.embedder.core.runtime.DjlEnvironment;
import io.embedder.core.runtime.InferenceScheduler;
import io.embedder.core.runtime.LoadedModel;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The node's one embedder: model directories under {@code modelsDir}, each loaded on first use and then shared (one
 * copy per model whatever the number of callers). All native work runs on its {@link InferenceScheduler}'s threads,
 * which batch texts across concurrent requests and serve query-role texts first. Thread-safe. Has no OpenSearch
 * types, so it is tested alone.
 */
public final class Embedder implements Closeable {

    /** Model names are plain directory names: never a path. */
    private static final Pattern MODEL_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private final Path modelsDir;
    private final LoadedModel.Limits limits;
    private final Map<String, LoadedModel> loaded = new ConcurrentHashMap<>();
    private final LongAdder inferences = new LongAdder();
    private final LongAdder textsEmbedded = new LongAdder();
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

    /** The loaded model, when it has been used already. */
    public Optional<LoadedModel> loadedModel(String name) {
        return Optional.ofNullable(loaded.get(name));
    }

    /** The model, loaded on first use (on a native thread); a failed load is not cached, so a fixed directory loads next time. */
    public LoadedModel model(String name) {
        return await(load(name, null));
    }

    private CompletableFuture<LoadedModel> load(String name, Role role) {
        if (closed) {
            return CompletableFuture.failedFuture(new IllegalStateException("the embedder is closed"));
        }
        LoadedModel model = loaded.get(name);
        return model != null ? CompletableFuture.completedFuture(model) : scheduler.call(() -> loadedOrLoad(name), role);
    }

    /** Must run on a native thread: loading creates the ONNX session. */
    private LoadedModel loadedOrLoad(String name) {
        if (closed) {
            throw new IllegalStateException("the embedder is closed");
        }
        LoadedModel model = loaded.get(name);
        if (model != null) {
            return model;
        }
        Path dir = directory(name);
        return loaded.computeIfAbsent(name, n -> LoadedModel.load(ModelSpecReader.read(n, dir), limits));
    }

    /**
     * Embeds on the embedder's native threads (large stacks), loading the model first if needed; the caller waits.
     * Callers bound the concurrency (the node's {@code embedder} thread pools do).
     */
    public Embeddings embed(String model, EmbedParams params) {
        return await(embedAsync(model, params));
    }

    /** {@link #embed} without waiting: completes on a native thread once the request's last text is embedded. */
    public CompletableFuture<Embeddings> embedAsync(String model, EmbedParams params) {
        return load(model, params.role()).thenCompose(m -> scheduler.embed(m, params)).whenComplete((result, failure) -> {
            if (failure == null) {
                inferences.increment();
                textsEmbedded.add(params.texts().size());
            }
        });
    }

    private static <T> T await(CompletableFuture<T> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EmbedderException(EmbedderException.Kind.INFERENCE_FAILED, "interrupted while embedding", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof java.util.concurrent.CompletionException c && c.getCause() != null ? c.getCause() : e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new EmbedderException(EmbedderException.Kind.INFERENCE_FAILED, "embedding failed: " + cause, cause);
        }
    }

    /** Calls of {@link #embed} that ran inference, since start. */
    public long inferenceCount() {
        return inferences.sum();
    }

    /** ONNX runs since start, with their texts and tokens. */
    public InferenceScheduler.BatchStats batchStats() {
        return scheduler.batchStats();
    }

    public long textCount() {
        return textsEmbedded.sum();
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
            LoadedModel model = loaded.remove(name);
            if (model != null) {
                try {
                    model.close();
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
