package io.embedder.it;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The demo behind {@code scripts/demo.sh}: indexes the CISI collection through the {@code embed} pipeline into the node
 * {@code -Dtests.cluster}, then prints, for a few CISI queries, the top hits of BM25 and of {@code text_knn} side by
 * side, and of late interaction when the index has a {@code late_interaction} field. Hits CISI judges relevant are
 * marked with {@code *}. Arguments: {@code --reindex} rebuilds the index even when it is complete.
 */
public final class CisiDemo {

    static final String INDEX = "cisi-demo";
    static final String PIPELINE = "cisi-demo-embed";
    static final String MODEL = "bge-small-en-v1.5";
    /** CISI queries shown: each has judged relevant documents. */
    static final List<String> QUERIES = List.of("1", "3", "10", "26");
    static final int TOP = 5;
    static final int COLUMN = 38;

    private static final PrintStream OUT = System.out;

    private CisiDemo() {}

    public static void main(String[] args) throws IOException {
        boolean reindex = List.of(args).contains("--reindex");
        Cisi cisi = Cisi.read();
        OUT.printf("CISI: %d documents, %d queries; node %s%n", cisi.documents.size(), cisi.queries.size(), Node.base());
        if (reindex || count() != cisi.documents.size()) {
            createIndex();
            ingest(cisi);
        } else {
            OUT.println("index [" + INDEX + "] already holds every document (--reindex rebuilds it)");
        }
        Optional<String> lateInteraction = lateInteractionField(Node.get("/" + INDEX + "/_mapping").object()
            .getAsJsonObject(INDEX).getAsJsonObject("mappings").getAsJsonObject("properties"));
        for (String q : QUERIES) {
            show(cisi, q, lateInteraction);
        }
        OUT.println("\n(* = judged relevant by CISI)  The node keeps running: scripts/node.sh stop <node> stops it.");
    }

    /** The pipeline: the document's text into a dense vector and into token vectors, 32 documents per inference call. */
    static String pipeline() {
        return """
            {"description": "CISI demo: the body's dense vector and token vectors",
             "processors": [{"embed": {"model": "%s", "field_map": {"body": "body_vec"}, "batch_size": 32}},
                            {"embed": {"model": "%s", "task": "token_embed", "field_map": {"body": "body_tokens"}, "batch_size": 32}}]}"""
            .formatted(MODEL, MODEL);
    }

    /**
     * The index: BM25 on the body (English stopwords), a k-NN field for its vector (the model remembered in _meta), and
     * a late_interaction field for its token vectors, kept out of _source.
     */
    static String indexMapping() {
        return """
            {"settings": {"index.knn": true, "number_of_shards": 1, "number_of_replicas": 0, "default_pipeline": "%s",
                          "analysis": {"analyzer": {"english_stop": {"type": "standard", "stopwords": "_english_"}}}},
             "mappings": {"_meta": {"embedder": {"fields": {"body_vec": {"model": "%s"}}}},
                          "_source": {"excludes": ["body_tokens"]},
                          "properties": {"title": {"type": "text", "analyzer": "english_stop"},
                                         "body": {"type": "text", "analyzer": "english_stop"},
                                         "body_vec": {"type": "knn_vector", "dimension": 384,
                                                      "method": {"name": "hnsw", "engine": "lucene", "space_type": "cosinesimil"}},
                                         "body_tokens": {"type": "late_interaction", "dims": 384, "model": "%s"}}}}"""
            .formatted(PIPELINE, MODEL, MODEL);
    }

    /** The field of type {@code late_interaction} among the index's fields, if there is one: it adds a third column. */
    static Optional<String> lateInteractionField(JsonObject properties) {
        for (Map.Entry<String, JsonElement> field : properties.entrySet()) {
            JsonElement type = field.getValue().getAsJsonObject().get("type");
            if (type != null && type.getAsString().equals("late_interaction")) {
                return Optional.of(field.getKey());
            }
        }
        return Optional.empty();
    }

    /**
     * The late-interaction search of the third column: {@code text_knn}'s top 100 on the dense vector, reranked by
     * MaxSim over the token vectors of {@code field}.
     */
    static String lateInteractionSearch(String field, String queryText) {
        return Node.json(Map.of("size", TOP, "_source", List.of("title"),
            "query", Map.of("text_knn", Map.of("body_vec", Map.of("query_text", queryText, "k", 100))),
            "rescore", Map.of("window_size", 100, "late_interaction", Map.of("field", field, "query_text", queryText))));
    }

    static String bm25Search(String queryText) {
        return Node.json(Map.of("size", TOP, "_source", List.of("title"), "query", Map.of("match", Map.of("body", queryText))));
    }

    static String denseSearch(String queryText) {
        return Node.json(Map.of("size", TOP, "_source", List.of("title"),
            "query", Map.of("text_knn", Map.of("body_vec", Map.of("query_text", queryText, "k", TOP)))));
    }

    private static int count() {
        Node.Response r = Node.get("/" + INDEX + "/_count");
        return r.status() == 200 ? r.object().get("count").getAsInt() : -1;
    }

    private static void createIndex() {
        Node.delete("/" + INDEX);
        check(Node.put("/_ingest/pipeline/" + PIPELINE, pipeline()), "create pipeline " + PIPELINE);
        check(Node.put("/" + INDEX, indexMapping()), "create index " + INDEX);
    }

    /** Bulks of 32 documents through the pipeline, with a progress line on stderr. */
    private static void ingest(Cisi cisi) {
        List<Map.Entry<String, String>> docs = new ArrayList<>(cisi.documents.entrySet());
        long start = System.nanoTime();
        int done = 0;
        for (int i = 0; i < docs.size(); i += 32) {
            StringBuilder bulk = new StringBuilder();
            for (Map.Entry<String, String> d : docs.subList(i, Math.min(docs.size(), i + 32))) {
                Map<String, Object> source = new LinkedHashMap<>();
                source.put("title", title(d.getValue()));
                source.put("body", d.getValue());
                bulk.append("{\"index\":{\"_index\":\"").append(INDEX).append("\",\"_id\":\"").append(d.getKey()).append("\"}}\n");
                bulk.append(Node.json(source)).append('\n');
            }
            Node.Response r = Node.bulk(bulk.toString());
            if (r.status() != 200 || r.object().get("errors").getAsBoolean()) {
                throw new IllegalStateException("bulk failed: " + r.body().toString().substring(0, Math.min(600, r.body().toString().length())));
            }
            done = Math.min(docs.size(), i + 64);
            progress(done, docs.size(), System.nanoTime() - start);
        }
        System.err.println();
        Node.post("/" + INDEX + "/_refresh", "{}");
        OUT.printf("indexed %d documents through pipeline [%s] in %.0f s%n", done, PIPELINE, (System.nanoTime() - start) / 1e9);
    }

    private static void progress(int done, int total, long nanos) {
        double seconds = nanos / 1e9;
        double rate = done / Math.max(seconds, 1e-9);
        int width = 30;
        int filled = (int) Math.round(width * (double) done / total);
        System.err.printf("\r  indexing [%s%s] %4d/%d  %5.1f docs/s  eta %3.0f s ", "#".repeat(filled), ".".repeat(width - filled),
            done, total, rate, (total - done) / Math.max(rate, 1e-9));
    }

    private static void show(Cisi cisi, String queryId, Optional<String> lateInteraction) {
        String text = cisi.queries.get(queryId);
        Set<String> relevant = cisi.relevant.getOrDefault(queryId, Set.of());
        OUT.printf("%nQuery %s (%d judged relevant): %s%n", queryId, relevant.size(), shorten(text, 3 * COLUMN));
        List<String> names = new ArrayList<>(List.of("BM25", "text_knn (" + MODEL + ")"));
        List<List<String>> columns = new ArrayList<>(List.of(hits(bm25Search(text), relevant), hits(denseSearch(text), relevant)));
        lateInteraction.ifPresent(field -> {
            names.add("late interaction (" + field + ")");
            columns.add(hits(lateInteractionSearch(field, text), relevant));
        });
        StringBuilder header = new StringBuilder("     ");
        names.forEach(n -> header.append(pad(n)).append("  "));
        OUT.println(header.toString().stripTrailing());
        for (int rank = 0; rank < TOP; rank++) {
            StringBuilder row = new StringBuilder(String.format("  %d. ", rank + 1));
            for (List<String> column : columns) {
                row.append(pad(rank < column.size() ? column.get(rank) : "")).append("  ");
            }
            OUT.println(row.toString().stripTrailing());
        }
        StringBuilder found = new StringBuilder("     ");
        for (List<String> column : columns) {
            long hits = column.stream().filter(h -> h.startsWith("*")).count();
            found.append(pad("relevant in top " + TOP + ": " + hits)).append("  ");
        }
        OUT.println(found.toString().stripTrailing());
    }

    /** "*  123 Title..." per hit, {@code *} for a judged-relevant document. */
    private static List<String> hits(String search, Set<String> relevant) {
        Node.Response r = Node.post("/" + INDEX + "/_search", search);
        check(r, "search");
        List<String> out = new ArrayList<>();
        for (JsonElement h : r.object().getAsJsonObject("hits").getAsJsonArray("hits")) {
            String id = h.getAsJsonObject().get("_id").getAsString();
            String title = h.getAsJsonObject().getAsJsonObject("_source").get("title").getAsString();
            out.add((relevant.contains(id) ? "* " : "  ") + String.format("%4s ", id) + title);
        }
        return out;
    }

    private static String title(String body) {
        int newline = body.indexOf('\n');
        return newline < 0 ? body : body.substring(0, newline);
    }

    private static String pad(String s) {
        String cut = shorten(s, COLUMN);
        return cut + " ".repeat(COLUMN - cut.length());
    }

    private static String shorten(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 1) + "…";
    }

    private static void check(Node.Response r, String what) {
        if (r.status() / 100 != 2) {
            throw new IllegalStateException(what + " failed (" + r.status() + "): " + r.body());
        }
    }
}
