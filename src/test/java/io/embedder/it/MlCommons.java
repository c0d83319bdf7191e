package io.embedder.it;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * OpenSearch's own embedding path on the bench node, for comparison: ml-commons hosting the same ONNX graph and
 * tokenizer (registered from a loopback URL this class serves, pooling set by hand), and neural-search's
 * {@code text_embedding} processor. Needs the ml-commons, neural-search, job-scheduler and k-NN plugins, and
 * DJL's PyTorch cache filled (scripts/bench.sh ingest does both).
 */
final class MlCommons {

    private MlCommons() {}

    /** Settings ml-commons needs to run a model on a single data node registered from a loopback URL. */
    static void configure() {
        Node.Response r = Node.put("/_cluster/settings", """
            {"persistent": {"plugins.ml_commons.only_run_on_ml_node": false,
                            "plugins.ml_commons.allow_registering_model_via_url": true,
                            "plugins.ml_commons.native_memory_threshold": 100,
                            "plugins.ml_commons.jvm_heap_memory_threshold": 100}}""");
        check(r, "cluster settings for ml-commons");
    }

    /**
     * The id of a deployed ml-commons model holding {@code modelDir}'s {@code model.onnx} and {@code tokenizer.json}
     * with the given pooling ({@code CLS}, {@code MEAN}, ...), registered under {@code name} unless already there.
     */
    static String deploy(String name, Path modelDir, String pooling, int dimensions, int httpPort) throws Exception {
        configure();
        String id = existing(name);
        if (id == null) {
            id = register(name, modelDir, pooling, dimensions, httpPort);
        }
        if (!"DEPLOYED".equals(state(id))) {
            check(Node.post("/_plugins/_ml/models/" + id + "/_deploy", "{}"), "deploy " + name);
            long deadline = System.currentTimeMillis() + 600_000;
            String state;
            while (!"DEPLOYED".equals(state = state(id))) {
                if ("DEPLOY_FAILED".equals(state) || System.currentTimeMillis() > deadline) {
                    throw new AssertionError("ml-commons could not deploy [" + name + "] (state " + state + "): "
                        + Node.get("/_plugins/_ml/models/" + id).body() + "; offline it needs DJL's PyTorch cache under "
                        + "<path.data>/ml_cache/pytorch/ (scripts/bench.sh ingest fills it)");
                }
                Thread.sleep(1000);
            }
        }
        return id;
    }

    /** A pipeline with neural-search's {@code text_embedding} processor from {@code source} into {@code target}. */
    static void pipeline(String pipeline, String modelId, String source, String target, int batchSize) {
        check(Node.put("/_ingest/pipeline/" + pipeline, Node.json(Map.of("processors", List.of(Map.of("text_embedding",
            Map.of("model_id", modelId, "field_map", Map.of(source, target), "batch_size", batchSize)))))), "pipeline " + pipeline);
    }

    private static String existing(String name) {
        Node.Response r = Node.post("/_plugins/_ml/models/_search", Node.json(Map.of("size", 10, "query", Map.of("bool", Map.of(
            "filter", List.of(Map.of("term", Map.of("name.keyword", name))),
            "must_not", List.of(Map.of("exists", Map.of("field", "chunk_number"))))))));
        if (r.status() != 200) {
            return null; // no model index yet
        }
        for (JsonElement hit : r.object().getAsJsonObject("hits").getAsJsonArray("hits")) {
            JsonObject source = hit.getAsJsonObject().getAsJsonObject("_source");
            if (source.has("model_state") && !"REGISTER_FAILED".equals(source.get("model_state").getAsString())) {
                return hit.getAsJsonObject().get("_id").getAsString();
            }
        }
        return null;
    }

    private static String state(String id) throws InterruptedException {
        Node.Response r = get("/_plugins/_ml/models/" + id);
        check(r, "model " + id);
        return r.object().has("model_state") ? r.object().get("model_state").getAsString() : "?";
    }

    private static String register(String name, Path modelDir, String pooling, int dimensions, int httpPort) throws Exception {
        Path zip = Path.of("target", "bench", name + ".zip");
        storedZip(zip, modelDir.resolve("model.onnx"), modelDir.resolve("tokenizer.json"));
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), httpPort), 0);
        server.createContext("/" + name + ".zip", exchange -> {
            exchange.sendResponseHeaders(200, Files.size(zip));
            try (OutputStream out = exchange.getResponseBody(); InputStream in = Files.newInputStream(zip)) {
                in.transferTo(out);
            }
        });
        server.start();
        try {
            Node.Response r = Node.post("/_plugins/_ml/models/_register", Node.json(Map.of(
                "name", name, "version", "1.0.0", "model_format", "ONNX", "function_name", "TEXT_EMBEDDING",
                "model_content_hash_value", sha256(zip),
                "model_config", Map.of("model_type", "bert", "embedding_dimension", dimensions,
                    "framework_type", "huggingface_transformers", "pooling_mode", pooling, "normalize_result", true),
                "url", "http://127.0.0.1:" + httpPort + "/" + name + ".zip")));
            check(r, "register " + name);
            String task = r.object().get("task_id").getAsString();
            long deadline = System.currentTimeMillis() + 600_000;
            while (true) {
                JsonObject t = get("/_plugins/_ml/tasks/" + task).object();
                String state = t.get("state").getAsString();
                if ("COMPLETED".equals(state)) {
                    return t.get("model_id").getAsString();
                }
                if ("FAILED".equals(state) || System.currentTimeMillis() > deadline) {
                    throw new AssertionError("ml-commons could not register [" + name + "]: " + t);
                }
                Thread.sleep(1000);
            }
        } finally {
            server.stop(0);
        }
    }

    /** A zip without compression (the graph does not compress, and ml-commons unpacks it faster). */
    private static void storedZip(Path zip, Path... files) throws IOException {
        Files.createDirectories(zip.getParent());
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(zip))) {
            for (Path f : files) {
                byte[] bytes = Files.readAllBytes(f);
                CRC32 crc = new CRC32();
                crc.update(bytes);
                ZipEntry e = new ZipEntry(f.getFileName().toString());
                e.setMethod(ZipEntry.STORED);
                e.setSize(bytes.length);
                e.setCrc(crc.getValue());
                out.putNextEntry(e);
                out.write(bytes);
                out.closeEntry();
            }
        }
    }

    private static String sha256(Path file) throws IOException, NoSuchAlgorithmException {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 20];
            int n;
            while ((n = in.read(buffer)) > 0) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /**
     * GET, retried while the node answers 429: ml-commons holds the model in the heap while it registers and deploys
     * it, which can trip the 1 GB node's parent circuit breaker for a moment.
     */
    private static Node.Response get(String path) throws InterruptedException {
        Node.Response r = Node.get(path);
        for (int i = 0; i < 120 && r.status() == 429; i++) {
            Thread.sleep(1000);
            r = Node.get(path);
        }
        return r;
    }

    private static void check(Node.Response r, String what) {
        if (r.status() >= 300) {
            throw new AssertionError(what + " -> " + r.status() + " " + r.body());
        }
    }
}
