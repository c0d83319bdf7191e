package io.embedder.core.runtime;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * DJL's global switches, set before its first use: no usage tracking, no downloads, native libraries extracted
 * under a directory we choose. DJL finds its resources through the thread context class loader, so every call into
 * it runs with this library's class loader.
 */
public final class DjlEnvironment {

    private static volatile boolean configured;

    private DjlEnvironment() {}

    /** Idempotent; the first call wins. {@code cacheDir} receives DJL's extracted native tokenizer library. */
    public static synchronized void configure(Path cacheDir) {
        if (configured) {
            return;
        }
        System.setProperty("OPT_OUT_TRACKING", "true");
        System.setProperty("ai.djl.offline", "true");
        if (System.getProperty("DJL_CACHE_DIR") == null && cacheDir != null) {
            System.setProperty("DJL_CACHE_DIR", cacheDir.toAbsolutePath().toString());
        }
        configured = true;
    }

    /** Runs {@code work} with this library's class loader as the context class loader. */
    public static <T> T call(Callable<T> work) throws Exception {
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(DjlEnvironment.class.getClassLoader());
        try {
            return work.call();
        } finally {
            thread.setContextClassLoader(previous);
        }
    }
}
