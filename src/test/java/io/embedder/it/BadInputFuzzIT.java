package io.embedder.it;

import org.junit.jupiter.api.Test;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Generated bad requests (seeded, bounded) thrown at the REST APIs: every answer is a 2xx or a 4xx, never a 5xx
 * or a dead node, and the node embeds correctly afterwards. Prints what it tried.
 */
class BadInputFuzzIT {

    private static final long SEED = Long.getLong("tests.seed", 20261122L);
    private static final int REQUESTS = Integer.getInteger("tests.fuzz.requests", 300);

    private static final List<String> NASTY_TEXTS = List.of("", " ", "\u0000", "\\ud800", "\\udc00\\ud800", "a\\ud83d", "?!#$%^&*()",
        "[CLS] [SEP] [PAD] [MASK] [UNK]", "\\u200b\\u200b\\u200b", "\\ufeff", "\\uffff\\ufffe", "🙂".repeat(600), "東京".repeat(800),
        "\\n\\t\\r", "<script>alert(1)</script>", "' OR 1=1 --", "%s%n%x", "a".repeat(5000), "ab ".repeat(3000));

    private static final List<String> NASTY_VALUES = List.of("null", "42", "-1", "1.5e308", "true", "[]", "{}", "[[\"x\"]]", "{\"a\":{\"b\":{\"c\":{\"d\":[1]}}}}",
        "\"query\"", "\"document\"", "\"none\"", "\"token_embed\"", "\"embed\"", "[\"a\", null]", "[1,2,3]", "0", "384", "9999999999");

    private static final List<String> KEYS = List.of("texts", "task", "role", "normalize", "dimensions", "truncate_prompt_tokens", "pooling",
        "model", "", "texts ", "TEXTS");

    private static final List<String> MODELS = List.of("bge-small-en-v1.5", "nope", "..", "../../etc", "/etc/passwd", "%2e%2e", "a/b",
        "bge-small-en-v1.5\u0000", ".hidden", "x".repeat(300), "e5-small-v2");

    @Test
    void badRequestsAreClientErrorsAndNothingElse() {
        Random random = new Random(SEED);
        Map<Integer, Integer> statuses = new TreeMap<>();
        List<String> serverErrors = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) {
            String model = URLEncoder.encode(MODELS.get(random.nextInt(MODELS.size())), StandardCharsets.UTF_8);
            String body = randomBody(random);
            Node.Response r = switch (random.nextInt(4)) {
                case 0, 1 -> Node.post("/_plugins/_embedder/models/" + model + "/_embed", body);
                case 2 -> Node.get("/_plugins/_embedder/models/" + model);
                default -> Node.post("/_ingest/pipeline/_simulate", "{\"pipeline\": {\"processors\": [{\"embed\": {\"model\": \"bge-small-en-v1.5\", "
                    + "\"field_map\": {\"a.b\": \"v\"}}}]}, \"docs\": [{\"_source\": {\"a\": " + randomValue(random) + "}}]}");
            };
            statuses.merge(r.status(), 1, Integer::sum);
            if (r.status() >= 500) {
                serverErrors.add(r.status() + " for " + body.substring(0, Math.min(200, body.length())) + " -> " + r.body());
            }
        }
        // a 5 MB text and 2,000 texts: bounded work, a clear answer
        statuses.merge(Node.post("/_plugins/_embedder/models/bge-small-en-v1.5/_embed", "{\"texts\": [\"" + "word ".repeat(1_000_000) + "\"]}").status(), 1, Integer::sum);
        Node.Response tooMany = Node.post("/_plugins/_embedder/models/bge-small-en-v1.5/_embed", Node.json(Map.of("texts", java.util.Collections.nCopies(2000, "x"))));
        assertEquals(400, tooMany.status());
        assertEquals("[texts] must hold 1 to 1024 strings, got 2000", tooMany.reason());
        System.out.println("fuzz: " + REQUESTS + " generated requests (seed " + SEED + "), statuses " + statuses);
        assertEquals(List.of(), serverErrors);
        assertTrue(List.of("green", "yellow").contains(Node.get("/_cluster/health").object().get("status").getAsString()));
        assertEquals(384, Node.embedAll("bge-small-en-v1.5", List.of("still correct"), null, 1).get(0).length);
    }

    private static String randomBody(Random random) {
        if (random.nextInt(10) == 0) {
            return List.of("", "{", "[]", "null", "{\"texts\": [\"a\"", "\"texts\"", "{\"texts\": \"\\ud800\"}").get(random.nextInt(7));
        }
        StringBuilder sb = new StringBuilder("{");
        int keys = 1 + random.nextInt(3);
        for (int k = 0; k < keys; k++) {
            String key = k == 0 && random.nextBoolean() ? "texts" : KEYS.get(random.nextInt(KEYS.size()));
            sb.append(k == 0 ? "" : ",").append('"').append(key).append("\":");
            sb.append(key.equals("texts") && random.nextBoolean() ? textsArray(random) : randomValue(random));
        }
        return sb.append('}').toString();
    }

    private static String textsArray(Random random) {
        StringBuilder sb = new StringBuilder("[");
        int n = 1 + random.nextInt(4);
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "" : ",").append('"').append(NASTY_TEXTS.get(random.nextInt(NASTY_TEXTS.size()))).append('"');
        }
        return sb.append(']').toString();
    }

    private static String randomValue(Random random) {
        return random.nextBoolean() ? NASTY_VALUES.get(random.nextInt(NASTY_VALUES.size()))
            : "\"" + NASTY_TEXTS.get(random.nextInt(NASTY_TEXTS.size())) + "\"";
    }
}
