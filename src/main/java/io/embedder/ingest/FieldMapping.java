package io.embedder.ingest;

import org.opensearch.ingest.ConfigurationUtils;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One entry of {@code field_map}: the dotted path of a text field and the dotted path its vector goes to. An object
 * value maps the fields of an object (or of each object of an array) relative to it, so
 * {@code {"chunks": {"text": "vec"}}} is {@code chunks.text → chunks.vec}.
 */
record FieldMapping(String source, String target) {

    /** Path segments of a dotted path. */
    static String[] segments(String path) {
        return path.split("\\.", -1);
    }

    /** Reads and checks {@code field_map}; errors name the processor, its tag and the property. */
    static List<FieldMapping> read(String tag, Map<String, Object> fieldMap) {
        if (fieldMap.isEmpty()) {
            throw invalid(tag, "must map at least one text field to a vector field");
        }
        List<FieldMapping> out = new ArrayList<>();
        flatten(tag, "", fieldMap, out);
        Map<String, String> sourceOfTarget = new HashMap<>();
        for (FieldMapping m : out) {
            if (overlaps(m.source, m.target)) {
                throw invalid(tag, "[" + m.source + "] and its vector field [" + m.target + "] overlap: a vector field must not be "
                    + "its text field, inside it, or hold it");
            }
            String other = sourceOfTarget.putIfAbsent(m.target, m.source);
            if (other != null) {
                throw invalid(tag, "[" + other + "] and [" + m.source + "] both map to vector field [" + m.target + "]");
            }
        }
        return List.copyOf(out);
    }

    private static void flatten(String tag, String prefix, Map<?, ?> map, List<FieldMapping> out) {
        for (Map.Entry<?, ?> e : map.entrySet()) {
            String key = String.valueOf(e.getKey());
            String source = prefix + key;
            if (!validPath(key)) {
                throw invalid(tag, "[" + source + "] is not a field path: dotted names, no empty parts");
            }
            if (e.getValue() instanceof String target && validPath(target)) {
                out.add(new FieldMapping(source, prefix + target));
            } else if (e.getValue() instanceof Map<?, ?> inner && !inner.isEmpty()) {
                flatten(tag, source + ".", inner, out);
            } else {
                throw invalid(tag, "[" + source + "] must map to a vector field path or to an object of field mappings, got ["
                    + e.getValue() + "]");
            }
        }
    }

    private static boolean validPath(String path) {
        for (String s : segments(path)) {
            if (s.isEmpty()) {
                return false;
            }
        }
        return true;
    }

    private static boolean overlaps(String a, String b) {
        return a.equals(b) || a.startsWith(b + ".") || b.startsWith(a + ".");
    }

    private static RuntimeException invalid(String tag, String message) {
        return ConfigurationUtils.newConfigurationException(EmbedProcessor.TYPE, tag, "field_map", message);
    }
}
