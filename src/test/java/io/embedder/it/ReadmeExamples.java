package io.embedder.it;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import com.google.gson.JsonSyntaxException;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The README's JSON examples, read in order. The convention (README "Tests"):
 * <ul>
 *   <li>a {@code ```json} block whose first line is {@code METHOD path} holds requests, in Dev Tools console form: each
 *       {@code METHOD path} line starts one, the lines up to the next start its body (NDJSON for {@code _bulk});</li>
 *   <li>any other {@code ```json} block is an example of the previous request's response: the real response must contain
 *       it (see {@link #contains});</li>
 *   <li>{@code <!-- test: status 404 -->} before a request block: the status its requests must answer (else any 2xx);</li>
 *   <li>{@code <!-- test: model-file my-model/modules.json -->} before a block: the block is that file of a model directory,
 *       written into the node's models directory.</li>
 * </ul>
 * Blocks in other languages ({@code sh}, plain) are not run.
 */
final class ReadmeExamples {

    private static final Pattern REQUEST_LINE = Pattern.compile("^(GET|PUT|POST|DELETE|HEAD) (\\S+)$");
    private static final Pattern DIRECTIVE = Pattern.compile("^<!-- test: (status (\\d{3})|model-file (\\S+)) -->$");

    sealed interface Step permits Request, ModelFile {
        int line();
    }

    /** @param line the README line of the request; {@code status} 0 means any 2xx */
    record Request(int line, String method, String path, String body, int status, List<JsonElement> responses) implements Step {
        boolean ndjson() {
            return path.contains("_bulk");
        }

        @Override
        public String toString() {
            return "README line " + line + ": " + method + " " + path;
        }
    }

    record ModelFile(int line, String path, String content) implements Step {
        @Override
        public String toString() {
            return "README line " + line + ": model file " + path;
        }
    }

    private ReadmeExamples() {}

    static List<Step> parse(List<String> lines) {
        List<Step> steps = new ArrayList<>();
        Integer status = null;
        String modelFile = null;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            Matcher directive = DIRECTIVE.matcher(line);
            if (directive.matches()) {
                if (directive.group(2) != null) {
                    status = Integer.parseInt(directive.group(2));
                } else {
                    modelFile = directive.group(3);
                }
                continue;
            }
            if (line.startsWith("<!-- test:")) {
                throw new IllegalArgumentException("README line " + (i + 1) + ": unknown test directive " + line);
            }
            if (!line.startsWith("```")) {
                continue;
            }
            String language = line.substring(3).strip();
            int start = i + 1;
            int end = start;
            while (end < lines.size() && !lines.get(end).strip().equals("```")) {
                end++;
            }
            if (end == lines.size()) {
                throw new IllegalArgumentException("README line " + (i + 1) + ": code block never closed");
            }
            List<String> block = lines.subList(start, end);
            i = end;
            if (!language.equals("json")) {
                if (status != null || modelFile != null) {
                    throw new IllegalArgumentException("README line " + (i + 1) + ": a test directive before a block that is not json");
                }
                continue;
            }
            if (modelFile != null) {
                steps.add(new ModelFile(start, modelFile, String.join("\n", block) + "\n"));
                json(start, String.join("\n", block));
            } else if (!block.isEmpty() && REQUEST_LINE.matcher(block.get(0).strip()).matches()) {
                steps.addAll(requests(start, block, status == null ? 0 : status));
            } else {
                Request last = lastRequest(steps, start);
                last.responses().add(json(start, String.join("\n", block)));
            }
            status = null;
            modelFile = null;
        }
        return steps;
    }

    private static List<Request> requests(int firstLine, List<String> block, int status) {
        List<Request> out = new ArrayList<>();
        int i = 0;
        while (i < block.size()) {
            Matcher m = REQUEST_LINE.matcher(block.get(i).strip());
            if (!m.matches()) {
                throw new IllegalArgumentException("README line " + (firstLine + i + 1) + ": expected METHOD path, got " + block.get(i));
            }
            int bodyStart = ++i;
            while (i < block.size() && !REQUEST_LINE.matcher(block.get(i).strip()).matches()) {
                i++;
            }
            String path = m.group(2).startsWith("/") ? m.group(2) : "/" + m.group(2);
            List<String> bodyLines = block.subList(bodyStart, i).stream().filter(l -> !l.isBlank()).toList();
            String body = null;
            if (!bodyLines.isEmpty()) {
                if (path.contains("_bulk")) {
                    for (int k = 0; k < bodyLines.size(); k++) {
                        json(firstLine + bodyStart + k + 1, bodyLines.get(k));
                    }
                    body = String.join("\n", bodyLines) + "\n";
                } else {
                    body = String.join("\n", bodyLines);
                    json(firstLine + bodyStart + 1, body);
                }
            }
            out.add(new Request(firstLine + bodyStart, m.group(1), path, body, status, new ArrayList<>()));
        }
        return out;
    }

    private static Request lastRequest(List<Step> steps, int line) {
        for (int i = steps.size() - 1; i >= 0; i--) {
            if (steps.get(i) instanceof Request r) {
                return r;
            }
        }
        throw new IllegalArgumentException("README line " + line + ": a response example before any request");
    }

    private static JsonElement json(int line, String text) {
        try {
            return JsonParser.parseString(text);
        } catch (JsonSyntaxException e) {
            throw new IllegalArgumentException("README line " + line + ": not valid JSON: " + e.getMessage(), e);
        }
    }

    /**
     * Null when {@code actual} contains {@code expected}, else where and how it differs. An object contains every key of
     * the example with a matching value (key {@code "*"}: every entry of a non-empty object matches it); an array
     * matches element by element from the start (the real one may be longer); the string {@code "..."} matches anything;
     * numbers match by value; anything else must be equal.
     */
    static String contains(JsonElement expected, JsonElement actual, String where) {
        if (expected.isJsonPrimitive() && expected.getAsJsonPrimitive().isString() && expected.getAsString().equals("...")) {
            return null;
        }
        if (actual == null) {
            return where + ": missing, expected " + expected;
        }
        if (expected.isJsonObject()) {
            if (!actual.isJsonObject()) {
                return where + ": expected an object, got " + actual;
            }
            for (var e : expected.getAsJsonObject().entrySet()) {
                if (e.getKey().equals("*")) {
                    if (actual.getAsJsonObject().isEmpty()) {
                        return where + ": expected entries, got {}";
                    }
                    for (var a : actual.getAsJsonObject().entrySet()) {
                        String diff = contains(e.getValue(), a.getValue(), where + "." + a.getKey());
                        if (diff != null) {
                            return diff;
                        }
                    }
                } else {
                    String diff = contains(e.getValue(), actual.getAsJsonObject().get(e.getKey()), where + "." + e.getKey());
                    if (diff != null) {
                        return diff;
                    }
                }
            }
            return null;
        }
        if (expected.isJsonArray()) {
            if (!actual.isJsonArray() || actual.getAsJsonArray().size() < expected.getAsJsonArray().size()) {
                return where + ": expected an array of at least " + expected.getAsJsonArray().size() + ", got " + actual;
            }
            for (int i = 0; i < expected.getAsJsonArray().size(); i++) {
                String diff = contains(expected.getAsJsonArray().get(i), actual.getAsJsonArray().get(i), where + "[" + i + "]");
                if (diff != null) {
                    return diff;
                }
            }
            return null;
        }
        if (expected.isJsonPrimitive() && expected.getAsJsonPrimitive().isNumber()) {
            boolean same = actual.isJsonPrimitive() && actual.getAsJsonPrimitive().isNumber()
                && expected.getAsBigDecimal().compareTo(actual.getAsBigDecimal()) == 0;
            return same ? null : where + ": expected " + expected + ", got " + actual;
        }
        return expected.equals(actual) ? null : where + ": expected " + expected + ", got " + actual;
    }
}
