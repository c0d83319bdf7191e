package io.embedder.ingest;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds the texts a {@link FieldMapping} names in a document's source, and where each one's vector goes.
 *
 * <ul>
 *   <li>a string: one vector at the target;</li>
 *   <li>an array of strings: a list of vectors at the target, one per element, in order;</li>
 *   <li>a path through an array of objects: when the target shares that part of the path, each object gets its own
 *   vector ({@code chunks.text → chunks.vec} writes {@code chunks.0.vec}, {@code chunks.1.vec}, ...); otherwise the
 *   vectors are collected into a list at the target, in document order.</li>
 * </ul>
 *
 * Paths found are concrete: array elements appear as their index ({@code chunks.1.text}), as in ingest paths.
 */
final class FieldTexts {

    private FieldTexts() {}

    /**
     * A text and where its vector goes.
     *
     * @param path   where the text is, e.g. {@code chunks.1.text}
     * @param target where its vector goes, e.g. {@code chunks.1.vec}
     * @param inList the vector is one element of a list at {@code target}, not the whole value
     */
    record Found(String path, String text, String target, boolean inList) {}

    /**
     * The texts of {@code mapping} in {@code source}, in document order. A missing or null field is skipped when
     * {@code ignoreMissing}; any other problem (a value that is not a string, a path through a scalar) is an
     * {@link IllegalArgumentException} naming the field and the document.
     */
    static List<Found> find(Map<String, Object> source, FieldMapping mapping, boolean ignoreMissing, String docId) {
        Walk walk = new Walk(mapping, ignoreMissing, docId);
        walk.visit(source, 0, List.of(), List.of(), false);
        return walk.found;
    }

    /** The field values to write: per target, the vector, or the list of vectors of the texts that share it. */
    static Map<String, Object> values(List<Found> found, List<?> vectors) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (int i = 0; i < found.size(); i++) {
            Found f = found.get(i);
            if (f.inList()) {
                @SuppressWarnings("unchecked")
                List<Object> list = (List<Object>) out.computeIfAbsent(f.target(), k -> new ArrayList<>());
                list.add(vectors.get(i));
            } else {
                out.put(f.target(), vectors.get(i));
            }
        }
        return out;
    }

    /** The value at a concrete path (numeric parts index arrays), or null when there is none. */
    static Object valueAt(Map<String, Object> source, String path) {
        Object node = source;
        for (String segment : FieldMapping.segments(path)) {
            if (node instanceof Map<?, ?> map) {
                node = map.get(segment);
            } else if (node instanceof List<?> list && isIndex(segment) && Integer.parseInt(segment) < list.size()) {
                node = list.get(Integer.parseInt(segment));
            } else {
                return null;
            }
        }
        return node;
    }

    /** The path without its array indices: the field's name in the mapping. */
    static String fieldName(String concretePath) {
        return String.join(".", Arrays.stream(FieldMapping.segments(concretePath)).filter(s -> !isIndex(s)).toList());
    }

    private static boolean isIndex(String segment) {
        return !segment.isEmpty() && segment.length() < 10 && segment.chars().allMatch(Character::isDigit);
    }

    /** One walk of the source path through the document, building the concrete source and target paths. */
    private static final class Walk {
        private final String[] source;
        private final String[] target;
        /** Leading path parts the source and the target have in common (less than either's length). */
        private final int shared;
        private final boolean ignoreMissing;
        private final String docId;
        private final List<Found> found = new ArrayList<>();

        Walk(FieldMapping mapping, boolean ignoreMissing, String docId) {
            this.source = FieldMapping.segments(mapping.source());
            this.target = FieldMapping.segments(mapping.target());
            int n = 0;
            while (n < source.length && n < target.length && source[n].equals(target[n])) {
                n++;
            }
            this.shared = n;
            this.ignoreMissing = ignoreMissing;
            this.docId = docId;
        }

        /**
         * @param node         the value at {@code path}, which has consumed {@code depth} parts of the source path
         * @param targetPrefix the concrete target path so far (the shared parts consumed, with their array indices)
         */
        void visit(Object node, int depth, List<String> path, List<String> targetPrefix, boolean inList) {
            if (depth == source.length) {
                leaf(node, path, targetPrefix, inList);
            } else if (node instanceof List<?> list) {
                // an array of objects on the way: its elements are walked on; the index joins the target path too
                // when the array lies on the shared part, otherwise the vectors are collected into a list
                boolean onShared = depth <= shared;
                for (int j = 0; j < list.size(); j++) {
                    List<String> elementPath = append(path, String.valueOf(j));
                    Object element = list.get(j);
                    if (element == null) {
                        missing(elementPath, depth, "null");
                    } else {
                        visit(element, depth, elementPath, onShared ? append(targetPrefix, String.valueOf(j)) : targetPrefix,
                            inList || !onShared);
                    }
                }
            } else if (node instanceof Map<?, ?> map) {
                String key = source[depth];
                Object value = map.get(key);
                if (value == null) {
                    missing(path, depth, map.containsKey(key) ? "null" : "missing");
                } else {
                    visit(value, depth + 1, append(path, key), depth < shared ? append(targetPrefix, target[depth]) : targetPrefix, inList);
                }
            } else {
                throw new IllegalArgumentException(prefix(rest(path, depth)) + " cannot be reached: [" + String.join(".", path)
                    + "] is " + describe(node) + ", not an object");
            }
        }

        private void leaf(Object node, List<String> path, List<String> targetPrefix, boolean inList) {
            List<String> targetPath = new ArrayList<>(targetPrefix);
            targetPath.addAll(Arrays.asList(target).subList(shared, target.length));
            String to = String.join(".", targetPath);
            String at = String.join(".", path);
            if (node instanceof String text) {
                found.add(new Found(at, text, to, inList));
            } else if (node instanceof List<?> list) {
                for (int j = 0; j < list.size(); j++) {
                    if (!(list.get(j) instanceof String text)) {
                        throw new IllegalArgumentException(prefix(at + "." + j) + " must be a string, got " + describe(list.get(j)));
                    }
                    found.add(new Found(at + "." + j, text, to, true));
                }
            } else {
                throw new IllegalArgumentException(prefix(at) + " must be a string or an array of strings, got " + describe(node));
            }
        }

        private void missing(List<String> path, int depth, String what) {
            if (!ignoreMissing) {
                throw new IllegalArgumentException(prefix(rest(path, depth)) + " is " + what + "; set ignore_missing to skip such documents");
            }
        }

        /** The concrete path so far followed by the source path's parts not yet consumed. */
        private String rest(List<String> path, int depth) {
            List<String> all = new ArrayList<>(path);
            all.addAll(Arrays.asList(source).subList(depth, source.length));
            return String.join(".", all);
        }

        private String prefix(String field) {
            return "[" + EmbedProcessor.TYPE + "] field [" + field + "] of document [" + docId + "]";
        }
    }

    private static List<String> append(List<String> path, String segment) {
        List<String> out = new ArrayList<>(path.size() + 1);
        out.addAll(path);
        out.add(segment);
        return out;
    }

    static String describe(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof Number || value instanceof Boolean) {
            return (value instanceof Number ? "number [" : "boolean [") + value + "]";
        }
        if (value instanceof String s) {
            return "string [" + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + "]";
        }
        if (value instanceof List<?> l) {
            return "an array of " + l.size();
        }
        if (value instanceof Map<?, ?>) {
            return "an object";
        }
        return value.getClass().getSimpleName();
    }
}
