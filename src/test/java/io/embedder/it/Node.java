package io.embedder.it;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The real OpenSearch node the integration tests talk to ({@code -Dtests.cluster=host:port}, started by
 * scripts/test.sh with the plugin zip installed).
 */
final class Node {

    record Response(int status, JsonElement body) {
        JsonObject object() {
            return body.getAsJsonObject();
        }

        /** The {@code error.reason} of an OpenSearch error response. */
        String reason() {
            return object().getAsJsonObject("error").get("reason").getAsString();
        }

        String type() {
            return object().getAsJsonObject("error").get("type").getAsString();
        }
    }

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private static final Gson GSON = new Gson();

    private Node() {}

    static String base() {
        return "http://" + System.getProperty("tests.cluster", "127.0.0.1:9201");
    }

    /** The node's models directory, for tests that drop model directories in; null when not given. */
    static Path modelsDir() {
        String dir = System.getProperty("tests.node.models", "");
        return dir.isEmpty() ? null : Path.of(dir);
    }

    static Response get(String path) {
        return send(HttpRequest.newBuilder(URI.create(base() + path)).GET());
    }

    static Response post(String path, Object body) {
        return postTo(base(), path, body instanceof String s ? s : GSON.toJson(body));
    }

    static Response put(String path, String json) {
        return putTo(base(), path, json);
    }

    /** POST to another node, {@code base} being {@code http://host:port}. */
    static Response postTo(String base, String path, String json) {
        return send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    static Response getFrom(String base, String path) {
        return send(HttpRequest.newBuilder(URI.create(base + path)).GET());
    }

    static Response putTo(String base, String path, String json) {
        return send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
            .PUT(HttpRequest.BodyPublishers.ofString(json)));
    }

    static Response delete(String path) {
        return deleteAt(base(), path);
    }

    static Response deleteAt(String base, String path) {
        return send(HttpRequest.newBuilder(URI.create(base + path)).DELETE());
    }

    static Response bulk(String ndjson) {
        return send(HttpRequest.newBuilder(URI.create(base() + "/_bulk")).header("Content-Type", "application/x-ndjson")
            .POST(HttpRequest.BodyPublishers.ofString(ndjson)));
    }

    /** Any method, with an optional body of the given content type. */
    static Response request(String method, String path, String body, String contentType) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path));
        if (body == null) {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            b.header("Content-Type", contentType).method(method, HttpRequest.BodyPublishers.ofString(body));
        }
        return send(b);
    }

    static String json(Object value) {
        return GSON.toJson(value);
    }

    static Response embed(String model, Map<String, Object> body) {
        return post("/_plugins/_embedder/models/" + model + "/_embed", body);
    }

    /** Embeds {@code texts} in requests of {@code chunk} texts; fails on any non-200. */
    static List<float[]> embedAll(String model, List<String> texts, String role, int chunk) {
        List<float[]> out = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i += chunk) {
            Map<String, Object> body = new java.util.HashMap<>();
            body.put("texts", texts.subList(i, Math.min(texts.size(), i + chunk)));
            if (role != null) {
                body.put("role", role);
            }
            Response r = embed(model, body);
            if (r.status() != 200) {
                throw new AssertionError("embed " + model + " -> " + r.status() + " " + r.body());
            }
            for (JsonElement v : r.object().getAsJsonArray("embeddings")) {
                out.add(floats(v.getAsJsonArray()));
            }
        }
        return out;
    }

    /** The node's own stats ({@code GET _plugins/_embedder/_nodes/_local/stats}): its entry under {@code nodes}. */
    static JsonObject localStats(String base) {
        Response r = getFrom(base, "/_plugins/_embedder/_nodes/_local/stats");
        if (r.status() != 200) {
            throw new AssertionError("stats of " + base + " -> " + r.status() + " " + r.body());
        }
        JsonObject nodes = r.object().getAsJsonObject("nodes");
        return nodes.get(nodes.keySet().iterator().next()).getAsJsonObject();
    }

    /** Calls of the node's embedder that ran inference, over all models. */
    static long inferenceCount(String base) {
        return localStats(base).get("inference_count").getAsLong();
    }

    static float[] floats(JsonArray a) {
        float[] v = new float[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).getAsFloat();
        }
        return v;
    }

    private static Response send(HttpRequest.Builder request) {
        try {
            HttpResponse<String> r = HTTP.send(request.timeout(Duration.ofMinutes(5)).build(), HttpResponse.BodyHandlers.ofString());
            JsonElement body = r.body().isEmpty() ? null : JsonParser.parseString(r.body());
            return new Response(r.statusCode(), body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
