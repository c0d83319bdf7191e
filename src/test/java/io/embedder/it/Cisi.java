package io.embedder.it;

import io.embedder.core.TestData;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The CISI test collection (../shared/data/cisi) and its index on the test node: document = title + text,
 * query = its .W text, binary relevance; BM25 on {@code body} (standard analyzer, English stopwords) and a bge-small
 * {@code knn_vector} filled by the {@code embed} ingest pipeline (the document role).
 */
final class Cisi {

    static final String INDEX = "cisi";
    static final String MODEL = "bge-small-en-v1.5";
    static final String PIPELINE = "cisi-embed";
    /** Documents per bulk request: each carries about 150 token vectors through the pipeline three times. */
    private static final int BULK = 25;

    final Map<String, String> documents = new LinkedHashMap<>();
    final Map<String, String> queries = new LinkedHashMap<>();
    final Map<String, Set<String>> relevant = new HashMap<>();

    static Cisi read() throws IOException {
        Cisi c = new Cisi();
        for (Map<Character, String> r : records(TestData.shared("cisi/CISI.ALL"))) {
            c.documents.put(r.get('I'), (r.getOrDefault('T', "") + "\n" + r.getOrDefault('W', "")).trim());
        }
        int n = 0;
        for (Map<Character, String> r : records(TestData.shared("cisi/CISI.QRY"))) {
            c.queries.put(String.valueOf(++n), r.getOrDefault('W', "").trim());
        }
        for (String line : Files.readAllLines(TestData.shared("cisi/CISI.REL"))) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 2) {
                c.relevant.computeIfAbsent(f[0], q -> new HashSet<>()).add(f[1]);
            }
        }
        return c;
    }

    /** Records start with ".I id"; fields with ".X" on a line of their own, the text on the following lines. */
    private static List<Map<Character, String>> records(Path file) throws IOException {
        List<Map<Character, String>> out = new ArrayList<>();
        Map<Character, String> current = null;
        char field = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.startsWith(".I ")) {
                current = new HashMap<>();
                current.put('I', line.substring(3).trim());
                out.add(current);
                field = 0;
            } else if (line.length() == 2 && line.charAt(0) == '.' && Character.isLetter(line.charAt(1))) {
                field = line.charAt(1);
            } else if (current != null && field != 0) {
                current.merge(field, line, (a, b) -> a + "\n" + b);
            }
        }
        for (Map<Character, String> r : out) {
            r.replaceAll((k, v) -> k == 'I' ? v : v.replaceAll("\\s+", " ").trim());
        }
        return out;
    }

    /**
     * Creates and fills the index unless it already holds every document: the whole collection goes through the
     * {@code embed} ingest pipeline (the index's default pipeline), in bulks, and not one document may fail. The
     * pipeline writes the dense vector and the token vectors, which are stored three ways ({@code float}, {@code byte},
     * {@code bit}) and are too big for {@code _source} (about 150 × 384 numbers per document), which drops them.
     */
    void ensureIndexed() {
        Node.Response tokens = Node.get("/" + INDEX + "/_mapping/field/tokens_bit");
        if (indexedCount() == documents.size() && tokens.body().toString().contains("late_interaction")) {
            return;
        }
        Node.delete("/" + INDEX);
        Node.Response pipeline = Node.put("/_ingest/pipeline/" + PIPELINE, """
            {"processors": [{"embed": {"model": "%s", "field_map": {"body": "vec"}}},
                            {"embed": {"model": "%s", "task": "token_embed", "field_map": {"body": "tokens_float"}}},
                            {"copy": {"source_field": "tokens_float", "target_field": "tokens_byte"}},
                            {"copy": {"source_field": "tokens_float", "target_field": "tokens_bit"}}]}""".formatted(MODEL, MODEL));
        if (pipeline.status() != 200) {
            throw new AssertionError("create pipeline " + PIPELINE + ": " + pipeline.body());
        }
        Node.Response created = Node.put("/" + INDEX, """
            {"settings": {"index.knn": true, "number_of_shards": 1, "number_of_replicas": 0, "default_pipeline": "%s",
                          "analysis": {"analyzer": {"english_stop": {"type": "standard", "stopwords": "_english_"}}}},
             "mappings": {"_meta": {"embedder": {"fields": {"vec": {"model": "%s"}}}},
                          "_source": {"excludes": ["tokens_*"]},
                          "properties": {"body": {"type": "text", "analyzer": "english_stop"},
                                         "vec": {"type": "knn_vector", "dimension": 384,
                                                 "method": {"name": "hnsw", "engine": "lucene", "space_type": "cosinesimil"}},
                                         "tokens_float": {"type": "late_interaction", "dims": 384, "model": "%s"},
                                         "tokens_byte": {"type": "late_interaction", "dims": 384, "element_type": "byte", "model": "%s"},
                                         "tokens_bit": {"type": "late_interaction", "dims": 384, "element_type": "bit", "model": "%s"}}}}"""
            .formatted(PIPELINE, MODEL, MODEL, MODEL, MODEL));
        if (created.status() != 200) {
            throw new AssertionError("create " + INDEX + ": " + created.body());
        }
        List<String> ids = new ArrayList<>(documents.keySet());
        for (int from = 0; from < ids.size(); from += BULK) {
            StringBuilder bulk = new StringBuilder();
            for (String id : ids.subList(from, Math.min(ids.size(), from + BULK))) {
                bulk.append("{\"index\":{\"_index\":\"").append(INDEX).append("\",\"_id\":\"").append(id).append("\"}}\n");
                bulk.append(Node.json(Map.of("body", documents.get(id)))).append('\n');
            }
            Node.Response r = Node.bulk(bulk.toString());
            if (r.status() != 200 || r.object().get("errors").getAsBoolean()) {
                throw new AssertionError("bulk into " + INDEX + " failed: " + r.body().toString().substring(0, 1000));
            }
            for (var item : r.object().getAsJsonArray("items")) {
                int status = item.getAsJsonObject().getAsJsonObject("index").get("status").getAsInt();
                if (status != 201) {
                    throw new AssertionError("bulk item " + item + " has status " + status);
                }
            }
        }
        Node.post("/" + INDEX + "/_refresh", "{}");
        Node.post("/" + INDEX + "/_forcemerge?max_num_segments=1", "{}");
    }

    /** Documents in the index (0 when there is none). */
    static int indexedCount() {
        Node.Response count = Node.get("/" + INDEX + "/_count");
        return count.status() == 200 ? count.object().get("count").getAsInt() : 0;
    }

    /** Ids of the top {@code size} hits of a search body's rest ({@code "query": ..., "rescore": ...} without braces). */
    static List<String> searchBody(String rest, int size) {
        Node.Response r = Node.post("/" + INDEX + "/_search", "{\"size\": " + size + ", \"_source\": false, " + rest + "}");
        if (r.status() != 200) {
            throw new AssertionError("search failed: " + r.body());
        }
        List<String> ids = new ArrayList<>();
        r.object().getAsJsonObject("hits").getAsJsonArray("hits").forEach(h -> ids.add(h.getAsJsonObject().get("_id").getAsString()));
        return ids;
    }

    /** Ids of the top {@code size} hits of {@code query} (a JSON query object). */
    static List<String> search(String query, int size) {
        return searchBody("\"query\": " + query, size);
    }
}
