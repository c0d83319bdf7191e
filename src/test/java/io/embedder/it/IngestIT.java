package io.embedder.it;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.embedder.it.Ingest.assertEmbeds;
import static io.embedder.it.Ingest.bulk;
import static io.embedder.it.Ingest.reason;
import static io.embedder.it.Ingest.source;
import static io.embedder.it.Ingest.stat;
import static io.embedder.it.Ingest.statuses;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code embed} ingest processor on a real node: pipeline creation and its errors, {@code _simulate}, single and
 * bulk indexing with the document role's vectors, arrays and nested objects, batching across a bulk's documents, the
 * knn_vector dimension check, every document error (each fails its document alone), and the standard processor
 * options. Re-indexing ({@code skip_existing}, reindex, default and final pipelines): {@link IngestReuseIT}.
 */
class IngestIT {

    private static final String BGE = "bge-small-en-v1.5";
    private static final String INDEX = "it-ingest";
    private static final String PIPELINE = "it-embed";
    private static final List<String> INDICES = List.of(INDEX, INDEX + "-errors", INDEX + "-dims", INDEX + "-nested", INDEX + "-batch",
        INDEX + "-options");
    private static final List<String> PIPELINES = List.of(PIPELINE, "it-errors", "it-bge", "it-nested", "it-batch-3", "it-if", "it-ignore",
        "it-on-failure");

    @BeforeAll
    static void setUp() {
        Ingest.createPipeline(PIPELINE, """
            {"embed": {"model": "e5-small-v2", "field_map": {"body": "vec"}}},
            {"embed": {"model": "e5-small-v2", "field_map": {"title": "title_tokens"}, "task": "token_embed", "ignore_missing": true}}""");
        Ingest.createPipeline("it-bge", "{\"embed\": {\"field_map\": {\"body\": \"vec\"}}}");
        Ingest.createIndex(INDEX, "\"number_of_shards\": 2, \"default_pipeline\": \"" + PIPELINE + "\"",
            "{\"body\": {\"type\": \"text\"}, \"title_tokens\": {\"type\": \"object\", \"enabled\": false}, \"vec\": " + Ingest.KNN_384 + "}");
        Node.Response meta = Node.put("/" + INDEX + "/_mapping", "{\"_meta\": {\"embedder\": {\"fields\": {\"vec\": {\"model\": \"e5-small-v2\"}}}}}");
        assertEquals(200, meta.status(), String.valueOf(meta.body()));
    }

    @AfterAll
    static void tearDown() {
        INDICES.forEach(i -> Node.delete("/" + i));
        PIPELINES.forEach(p -> Node.delete("/_ingest/pipeline/" + p));
        Node.delete("/_ingest/pipeline/it-bad");
    }

    @Test
    void bulkEmbedsGoodDocumentsAndReportsBadOnesOneByOne() {
        Map<String, String> docs = new LinkedHashMap<>();
        docs.put("good-1", "{\"body\": \"A kitten is sleeping on a rug.\", \"title\": \"Kitten\"}");
        docs.put("bad-number", "{\"body\": 42}");
        docs.put("good-2", "{\"body\": \"Stock markets fell sharply today.\"}");
        docs.put("bad-missing", "{\"other\": \"no body here\"}");
        docs.put("good-3", "{\"body\": \"Café naïve résumé — Zürich, 東京\"}");
        JsonArray items = bulk(INDEX, docs, "");
        assertEquals(List.of(201, 400, 201, 400, 201), statuses(items));
        assertEquals("[embed] field [body] of document [bad-number] must be a string or an array of strings, got number [42]", reason(items, 1));
        assertEquals("[embed] field [body] of document [bad-missing] is missing; set ignore_missing to skip such documents", reason(items, 3));

        // the stored vectors are what _embed gives for the document role (e5's "passage: " prompt)
        JsonObject source = source(INDEX, "good-1");
        assertEmbeds("e5-small-v2", "A kitten is sleeping on a rug.", source.get("vec"));
        assertEmbeds("e5-small-v2", "Café naïve résumé — Zürich, 東京", source(INDEX, "good-3").get("vec"));
        // token_embed into a stored (not indexed) field: "passage: kitten" → [CLS] passage : kitten [SEP], special tokens dropped
        assertEquals(3, source.getAsJsonArray("title_tokens").size());

        // and text_knn finds it with the query role
        Node.Response hits = Node.post("/" + INDEX + "/_search", Node.json(Map.of("size", 1, "_source", false,
            "query", Map.of("text_knn", Map.of("vec", Map.of("query_text", "a sleeping cat", "k", 1))))));
        assertEquals("good-1", hits.object().getAsJsonObject("hits").getAsJsonArray("hits").get(0).getAsJsonObject().get("_id").getAsString());
    }

    @Test
    void aSingleDocumentIsEmbeddedByTheIndexDefaultPipeline() {
        Node.Response r = Node.put("/" + INDEX + "/_doc/single?refresh=true", "{\"body\": \"One document, indexed alone.\"}");
        assertEquals(201, r.status(), String.valueOf(r.body()));
        assertEmbeds("e5-small-v2", "One document, indexed alone.", source(INDEX, "single").get("vec"));
        Node.Response bad = Node.put("/" + INDEX + "/_doc/single-bad", "{\"body\": [\"fine\", false]}");
        assertEquals(400, bad.status());
        assertEquals("[embed] field [body.1] of document [single-bad] must be a string, got boolean [false]", bad.reason());
    }

    @Test
    void simulateShowsTheVectorsAndTheErrors() {
        Node.Response r = Node.post("/_ingest/pipeline/_simulate", """
            {"pipeline": {"processors": [{"embed": {"tag": "sim", "field_map": {"body": "vec", "tags": "tag_vecs"}, "ignore_missing": true}}]},
             "docs": [{"_id": "a", "_source": {"body": "A kitten is sleeping on a rug.", "tags": ["pets", "cats"]}},
                      {"_id": "b", "_source": {"body": 7}},
                      {"_id": "c", "_index": "it-ingest-dims-sim", "_source": {"nothing": "to embed"}}]}""");
        assertEquals(200, r.status(), String.valueOf(r.body()));
        JsonArray docs = r.object().getAsJsonArray("docs");
        JsonObject first = docs.get(0).getAsJsonObject().getAsJsonObject("doc").getAsJsonObject("_source");
        assertEmbeds(BGE, "A kitten is sleeping on a rug.", first.get("vec"));
        assertEmbeds(BGE, "cats", first.getAsJsonArray("tag_vecs").get(1));
        assertEquals("[embed] field [body] of document [b] must be a string or an array of strings, got number [7]",
            docs.get(1).getAsJsonObject().getAsJsonObject("error").get("reason").getAsString());
        assertEquals("{\"nothing\":\"to embed\"}", docs.get(2).getAsJsonObject().getAsJsonObject("doc").getAsJsonObject("_source").toString());

        Node.Response verbose = Node.post("/_ingest/pipeline/it-bge/_simulate?verbose=true",
            "{\"docs\": [{\"_source\": {\"body\": \"hello\"}}]}");
        JsonObject result = verbose.object().getAsJsonArray("docs").get(0).getAsJsonObject().getAsJsonArray("processor_results").get(0)
            .getAsJsonObject();
        assertEquals("embed", result.get("processor_type").getAsString());
        assertEquals("success", result.get("status").getAsString());
        assertEmbeds(BGE, "hello", result.getAsJsonObject("doc").getAsJsonObject("_source").get("vec"));
    }

    @Test
    void everyDocumentErrorFailsItsDocumentAloneWithItsReason() {
        Ingest.createPipeline("it-errors", """
            {"embed": {"field_map": {"body": "vec"}, "truncate_prompt_tokens": "none"}},
            {"embed": {"field_map": {"meta.summary": "summary_vec"}, "ignore_missing": true}}""");
        String index = INDEX + "-errors";
        Ingest.createIndex(index, "\"default_pipeline\": \"it-errors\"", "{\"vec\": " + Ingest.KNN_384 + ", \"summary_vec\": " + Ingest.KNN_384 + "}");
        Map<String, String> docs = new LinkedHashMap<>();
        docs.put("ok", "{\"body\": \"fine\", \"meta\": {\"summary\": \"short\"}}");
        docs.put("number", "{\"body\": 42}");
        docs.put("null", "{\"body\": null}");
        docs.put("missing", "{\"other\": \"x\"}");
        docs.put("element", "{\"body\": [\"ok\", 7]}");
        docs.put("object", "{\"body\": {\"x\": \"y\"}}");
        docs.put("too-long", "{\"body\": \"" + "cat ".repeat(600) + "\"}");
        docs.put("unreachable", "{\"body\": \"fine\", \"meta\": \"a string\"}");
        docs.put("ok-2", "{\"body\": \"also fine\"}");
        JsonArray items = bulk(index, docs, "");
        assertEquals(List.of(201, 400, 400, 400, 400, 400, 400, 400, 201), statuses(items));
        List<String> reasons = List.of(
            "[embed] field [body] of document [number] must be a string or an array of strings, got number [42]",
            "[embed] field [body] of document [null] is null; set ignore_missing to skip such documents",
            "[embed] field [body] of document [missing] is missing; set ignore_missing to skip such documents",
            "[embed] field [body.1] of document [element] must be a string, got number [7]",
            "[embed] field [body] of document [object] must be a string or an array of strings, got an object",
            "[embed] field [body] of document [too-long]: text has 602 tokens, more than the model's max_tokens [512], and truncate_prompt_tokens is [none]",
            "[embed] field [meta.summary] of document [unreachable] cannot be reached: [meta] is string [a string], not an object");
        for (int i = 0; i < reasons.size(); i++) {
            assertEquals(reasons.get(i), reason(items, i + 1));
            assertEquals("illegal_argument_exception", Ingest.item(items, i + 1).getAsJsonObject("error").get("type").getAsString());
        }
        assertEmbeds(BGE, "fine", source(index, "ok").get("vec"));
        assertEmbeds(BGE, "short", source(index, "ok").get("summary_vec"));
        assertEmbeds(BGE, "also fine", source(index, "ok-2").get("vec"));
    }

    @Test
    void aKnnVectorOfAnotherDimensionIsAnErrorNotATruncation() {
        String index = INDEX + "-dims";
        Ingest.createIndex(index, "\"default_pipeline\": \"it-bge\"", "{\"vec\": {\"type\": \"knn_vector\", \"dimension\": 256, "
            + "\"method\": {\"name\": \"hnsw\", \"engine\": \"lucene\", \"space_type\": \"cosinesimil\"}}}");
        Ingest.embedded(BGE, "load the model");
        long inferences = stat("inference_count");
        JsonArray items = bulk(index, Map.of("a", "{\"body\": \"a cat\"}"), "");
        assertEquals(List.of(400), statuses(items));
        assertEquals("[embed] field [vec] of index [it-ingest-dims] is a knn_vector of dimension [256], but model [bge-small-en-v1.5] gives "
            + "384 dimensions", reason(items, 0));
        assertEquals(inferences, stat("inference_count"), "refused before inference");
    }

    @Test
    void aFieldWhoseMetaDeclaresAnotherModelIsAnErrorNotAMismatchForQueries() {
        // text_knn embeds queries with what _meta declares: the pipeline may not write the field any other way
        String index = INDEX + "-meta";
        Node.delete("/" + index);
        assertEquals(200, Node.put("/" + index, """
            {"settings": {"index.knn": true, "number_of_replicas": 0, "default_pipeline": "it-bge"},
             "mappings": {"_meta": {"embedder": {"fields": {"vec": {"model": "e5-small-v2"}}}},
                          "properties": {"vec": {"type": "knn_vector", "dimension": 384,
                                                 "method": {"name": "hnsw", "engine": "lucene", "space_type": "cosinesimil"}}}}}""").status());
        try {
            Ingest.embedded(BGE, "load the model");
            long inferences = stat("inference_count");
            JsonArray items = bulk(index, Map.of("a", "{\"body\": \"a cat\"}"), "");
            assertEquals(List.of(400), statuses(items));
            assertEquals("[embed] field [vec] of index [it-ingest-meta] is declared in _meta.embedder.fields.vec as model [e5-small-v2] "
                + "dimensions [full] normalize [model default], which queries on it embed with, but this processor embeds with model ["
                + BGE + "] dimensions [full] normalize [model default]", reason(items, 0));
            assertEquals(inferences, stat("inference_count"), "refused before inference");

            // once _meta says what the pipeline does, the same document goes in
            assertEquals(200, Node.put("/" + index + "/_mapping", """
                {"_meta": {"embedder": {"fields": {"vec": {"model": "%s"}}}}}""".formatted(BGE)).status());
            assertEquals(List.of(201), statuses(bulk(index, Map.of("a", "{\"body\": \"a cat\"}"), "")));
            assertEmbeds(BGE, "a cat", source(index, "a").get("vec"));
        } finally {
            Node.delete("/" + index);
        }
    }

    @Test
    void arraysOfStringsAndNestedObjectsGetOneVectorPerText() {
        Ingest.createPipeline("it-nested", """
            {"embed": {"field_map": {"tags": "tag_vecs", "chunks": {"text": "vec"}}, "ignore_missing": true}},
            {"embed": {"field_map": {"chunks.text": "chunk_vecs"}, "ignore_missing": true}}""");
        String index = INDEX + "-nested";
        Ingest.createIndex(index, "\"default_pipeline\": \"it-nested\"", """
            {"tag_vecs": {"type": "object", "enabled": false}, "chunk_vecs": {"type": "object", "enabled": false},
             "chunks": {"type": "nested", "properties": {"text": {"type": "text"}, "vec": %s}}}""".formatted(Ingest.KNN_384));
        Map<String, String> docs = new LinkedHashMap<>();
        docs.put("d1", "{\"tags\": [\"red\", \"blue\"], \"chunks\": [{\"text\": \"A kitten sleeps on a rug.\"}, {\"text\": \"Stock markets fell sharply.\"}]}");
        docs.put("d2", "{\"chunks\": {\"text\": \"A single chunk as an object.\"}}");
        docs.put("d3", "{\"chunks\": [{\"text\": \"fine\"}, {\"text\": 5}]}");
        JsonArray items = bulk(index, docs, "");
        assertEquals(List.of(201, 201, 400), statuses(items));
        assertEquals("[embed] field [chunks.1.text] of document [d3] must be a string or an array of strings, got number [5]", reason(items, 2));

        JsonObject d1 = source(index, "d1");
        assertEquals(2, d1.getAsJsonArray("tag_vecs").size());
        assertEmbeds(BGE, "red", d1.getAsJsonArray("tag_vecs").get(0));
        assertEmbeds(BGE, "blue", d1.getAsJsonArray("tag_vecs").get(1));
        JsonArray chunks = d1.getAsJsonArray("chunks");
        assertEquals("A kitten sleeps on a rug.", chunks.get(0).getAsJsonObject().get("text").getAsString());
        assertEmbeds(BGE, "A kitten sleeps on a rug.", chunks.get(0).getAsJsonObject().get("vec"));
        assertEmbeds(BGE, "Stock markets fell sharply.", chunks.get(1).getAsJsonObject().get("vec"));
        assertEmbeds(BGE, "Stock markets fell sharply.", d1.getAsJsonArray("chunk_vecs").get(1));
        assertEmbeds(BGE, "A single chunk as an object.", source(index, "d2").getAsJsonObject("chunks").get("vec"));

        // the nested vectors are searchable per chunk: the market chunk of d1 is the best match for a market query
        float[] query = Node.embedAll(BGE, List.of("the stock market dropped"), "query", 1).get(0);
        Node.Response r = Node.post("/" + index + "/_search", Node.json(Map.of("_source", false, "query", Map.of("nested", Map.of("path", "chunks",
            "query", Map.of("knn", Map.of("chunks.vec", Map.of("vector", query, "k", 3))), "inner_hits", Map.of("_source", false, "size", 1))))));
        assertEquals(200, r.status(), String.valueOf(r.body()));
        JsonObject top = r.object().getAsJsonObject("hits").getAsJsonArray("hits").get(0).getAsJsonObject();
        assertEquals("d1", top.get("_id").getAsString());
        assertEquals(1, top.getAsJsonObject("inner_hits").getAsJsonObject("chunks").getAsJsonObject("hits").getAsJsonArray("hits").get(0)
            .getAsJsonObject().getAsJsonObject("_nested").get("offset").getAsInt());
    }

    @Test
    void aBulkIsEmbeddedInBatchesAcrossItsDocuments() {
        Ingest.createPipeline("it-batch-3", "{\"embed\": {\"field_map\": {\"body\": \"vec\"}, \"batch_size\": 3}}");
        String index = INDEX + "-batch";
        Ingest.createIndex(index, "", "{\"vec\": " + Ingest.KNN_384 + "}");
        Map<String, String> docs = new LinkedHashMap<>();
        for (int i = 0; i < 10; i++) {
            docs.put("d" + i, "{\"body\": \"document number " + i + "\"}");
        }
        Ingest.embedded(BGE, "load the model");
        long calls = stat("inference_count");
        long texts = stat("text_count");
        assertEquals(List.of(201, 201, 201, 201, 201, 201, 201, 201, 201, 201), statuses(bulk(index, docs, "&pipeline=it-bge")));
        assertEquals(calls + 1, stat("inference_count"), "the default batch_size (32) embeds all ten documents in one call");
        assertEquals(texts + 10, stat("text_count"));
        assertEquals(List.of(200, 200, 200, 200, 200, 200, 200, 200, 200, 200), statuses(bulk(index, docs, "&pipeline=it-batch-3")));
        assertEquals(calls + 1 + 4, stat("inference_count"), "batch_size 3: 3 + 3 + 3 + 1");
        assertEmbeds(BGE, "document number 7", source(index, "d7").get("vec"));
    }

    @Test
    void standardProcessorOptionsIfIgnoreFailureAndOnFailure() {
        Ingest.createPipeline("it-if", "{\"embed\": {\"tag\": \"english\", \"description\": \"English only\", \"if\": \"ctx.lang == 'en'\", "
            + "\"field_map\": {\"body\": \"vec\"}}}");
        Ingest.createPipeline("it-ignore", "{\"embed\": {\"field_map\": {\"body\": \"vec\"}, \"ignore_failure\": true}}");
        Ingest.createPipeline("it-on-failure", """
            {"embed": {"tag": "body-vec", "field_map": {"body": "vec"},
                       "on_failure": [{"set": {"field": "embed_error", "value": "{{ _ingest.on_failure_processor_tag }}: {{ _ingest.on_failure_message }}"}}]}}""");
        String index = INDEX + "-options";
        Ingest.createIndex(index, "", "{\"body\": {\"type\": \"text\"}, \"vec\": " + Ingest.KNN_384 + "}");

        Map<String, String> docs = new LinkedHashMap<>();
        docs.put("en", "{\"lang\": \"en\", \"body\": \"a cat\"}");
        docs.put("fr", "{\"lang\": \"fr\", \"body\": \"un chat\"}");
        assertEquals(List.of(201, 201), statuses(bulk(index, docs, "&pipeline=it-if")));
        assertEmbeds(BGE, "a cat", source(index, "en").get("vec"));
        assertFalse(source(index, "fr").has("vec"), "the condition is false: not embedded");

        assertEquals(List.of(201), statuses(bulk(index, Map.of("ignored", "{\"body\": 42}"), "&pipeline=it-ignore")));
        assertEquals("{\"body\":42}", source(index, "ignored").toString());

        Map<String, String> failing = new LinkedHashMap<>();
        failing.put("handled", "{\"body\": 42}");
        failing.put("fine", "{\"body\": \"a dog\"}");
        assertEquals(List.of(201, 201), statuses(bulk(index, failing, "&pipeline=it-on-failure")));
        JsonObject handled = source(index, "handled");
        assertEquals("body-vec: [embed] field [body] of document [handled] must be a string or an array of strings, got number [42]",
            handled.get("embed_error").getAsString());
        assertFalse(handled.has("vec"));
        assertEmbeds(BGE, "a dog", source(index, "fine").get("vec"));
    }

    @Test
    void pipelineConfigurationIsCheckedWhenThePipelineIsCreated() {
        String map = "\"field_map\": {\"body\": \"vec\"}";
        assertPipelineError("\"model\": \"nope\", " + map, "model",
            "[model] model [nope] not found; available: [all-MiniLM-L6-v2, bge-small-en-v1.5, e5-small-v2]");
        assertPipelineError("\"model\": \"bge-small-en-v1.5\", \"dimensions\": 128, " + map, "dimensions",
            "[dimensions] [128] is not available: model [bge-small-en-v1.5] is not declared Matryoshka");
        assertPipelineError("\"field_map\": {}", "field_map", "[field_map] must map at least one text field to a vector field");
        assertPipelineError("\"model\": \"bge-small-en-v1.5\"", "field_map", "[field_map] required property is missing");
        assertPipelineError("\"field_map\": {\"body\": \"body.vec\"}", "field_map",
            "[field_map] [body] and its vector field [body.vec] overlap: a vector field must not be its text field, inside it, or hold it");
        assertPipelineError("\"field_map\": {\"a\": \"v\", \"b\": \"v\"}", "field_map", "[field_map] [a] and [b] both map to vector field [v]");
        assertPipelineError("\"field_map\": {\"body\": 7}", "field_map",
            "[field_map] [body] must map to a vector field path or to an object of field mappings, got [7]");
        assertPipelineError(map + ", \"task\": \"rerank\"", "task", "[task] unknown task [rerank]; allowed: [embed, token_embed]");
        assertPipelineError(map + ", \"task\": \"token_embed\", \"dimensions\": 384", "dimensions", "[dimensions] is accepted by task [embed] only");
        assertPipelineError(map + ", \"normalize\": \"yes\"", "normalize", "[normalize] must be true or false, got [yes]");
        assertPipelineError(map + ", \"truncate_prompt_tokens\": \"all\"", "truncate_prompt_tokens",
            "[truncate_prompt_tokens] must be [none], [model_default] (or -1) or a positive number of tokens to keep from the end, got [all]");
        assertPipelineError(map + ", \"truncate_prompt_tokens\": 512", "truncate_prompt_tokens",
            "[truncate_prompt_tokens] [512] must be less than model [bge-small-en-v1.5]'s max_tokens [512]");
        assertPipelineError(map + ", \"role\": \"query\"", "role", "[role] is always [document] when indexing (the model's document prompt); remove it");
        assertPipelineError(map + ", \"skip_existing\": \"maybe\"", "skip_existing",
            "[skip_existing] property isn't a boolean, but of type [java.lang.String]");
        assertPipelineError(map + ", \"batch_size\": 0", "batch_size", "[batch_size] batch size must be a positive integer");
        assertPipelineError(map + ", \"bogus\": 1", null, "processor [embed] doesn't support one or more provided configuration parameters [bogus]");
    }

    /** Creating a pipeline with {@code options} in a processor tagged {@code cfg} fails with {@code reason}, naming the processor, tag and property. */
    private static void assertPipelineError(String options, String property, String reason) {
        Node.Response r = Node.put("/_ingest/pipeline/it-bad", "{\"processors\": [{\"embed\": {\"tag\": \"cfg\", " + options + "}}]}");
        assertEquals(400, r.status(), String.valueOf(r.body()));
        JsonObject error = r.object().getAsJsonObject("error");
        assertEquals(reason, error.get("reason").getAsString());
        assertEquals("embed", error.get("processor_type").getAsString());
        assertEquals("cfg", error.get("processor_tag").getAsString());
        if (property == null) {
            assertFalse(error.has("property_name"));
        } else {
            assertEquals(property, error.get("property_name").getAsString());
        }
        assertTrue(Node.get("/_ingest/pipeline/it-bad").status() == 404, "nothing was stored");
    }
}
