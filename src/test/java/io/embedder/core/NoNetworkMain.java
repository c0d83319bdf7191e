package io.embedder.core;

import io.embedder.core.runtime.LoadedModel;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Run in a fresh JVM by {@link OfflineTest}: records every connection the JVM's default proxy selector is asked
 * about (URL connections and HTTP clients, the way DJL would download, ask it) while DJL and ONNX Runtime start from nothing
 * (an empty DJL cache) and embed. Exits 0 and prints "network attempts: 0" when nothing tried to connect.
 */
public final class NoNetworkMain {

    public static void main(String[] args) throws IOException {
        List<String> attempts = Collections.synchronizedList(new ArrayList<>());
        ProxySelector.setDefault(new ProxySelector() {
            @Override
            public List<Proxy> select(URI uri) {
                attempts.add(uri.toString());
                // an unreachable proxy: whatever asked fails instead of reaching out
                return List.of(new Proxy(Proxy.Type.HTTP, new InetSocketAddress("127.0.0.1", 9)));
            }

            @Override
            public void connectFailed(URI uri, SocketAddress sa, IOException ioe) {
                attempts.add("failed " + uri);
            }
        });
        Path cache = Files.createTempDirectory("djl-cache");
        try (Embedder embedder = new Embedder(Path.of(args[0]), new LoadedModel.Limits(8, 4096, 1, Long.MAX_VALUE, 2), cache)) {
            int dims = embedder.embed("bge-small-en-v1.5", EmbedParams.embed(List.of("offline, always"), Role.QUERY)).dimensions();
            try (var files = Files.walk(cache)) {
                System.out.println("native libraries extracted: " + files.filter(p -> p.toString().endsWith(".so")).count());
            }
            System.out.println("dimensions: " + dims);
        }
        System.out.println("network attempts: " + attempts.size() + " " + attempts);
        System.exit(attempts.isEmpty() ? 0 : 1);
    }
}
