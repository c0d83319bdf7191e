package io.embedder.query;

import org.opensearch.common.xcontent.XContentFactory;
import org.opensearch.common.xcontent.json.JsonXContent;
import org.opensearch.core.common.bytes.BytesReference;
import org.opensearch.core.xcontent.DeprecationHandler;
import org.opensearch.core.xcontent.NamedXContentRegistry;
import org.opensearch.core.xcontent.ToXContent;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.query.AbstractQueryBuilder;
import org.opensearch.index.query.QueryBuilder;

import java.io.IOException;

/**
 * Builds the k-NN plugin's {@code knn} query through the node's query registry, so this plugin does not link
 * against k-NN and still installs and starts without it.
 */
final class KnnQueries {

    static final String KNN = "knn";

    private KnnQueries() {}

    /**
     * Fails fast, before any inference, when the k-NN plugin is not installed: parses an empty {@code knn} query,
     * which k-NN rejects for its content and an unknown query name rejects for its name.
     */
    static void requireAvailable(NamedXContentRegistry registry) {
        try (XContentParser parser = JsonXContent.jsonXContent.createParser(registry, DeprecationHandler.IGNORE_DEPRECATIONS,
            "{\"" + KNN + "\": {}}")) {
            parser.nextToken();
            AbstractQueryBuilder.parseInnerQueryBuilder(parser);
        } catch (Exception e) {
            if (isUnknownQuery(e)) {
                throw missingKnn();
            }
        }
    }

    private static IllegalArgumentException missingKnn() {
        return new IllegalArgumentException("[" + TextKnnQueryBuilder.NAME + "] rewrites into the k-NN plugin's [knn] query, "
            + "and the k-NN plugin is not installed on this cluster");
    }

    /** A {@code knn} query on {@code field} for {@code vector}, with the search options of {@code source}. */
    static QueryBuilder knn(NamedXContentRegistry registry, TextKnnQueryBuilder source, float[] vector) throws IOException {
        XContentBuilder b = XContentFactory.jsonBuilder();
        b.startObject().startObject(KNN).startObject(source.fieldName());
        b.field("vector", vector);
        if (source.k() != null) {
            b.field("k", source.k());
        }
        if (source.minScore() != null) {
            b.field("min_score", source.minScore());
        }
        if (source.maxDistance() != null) {
            b.field("max_distance", source.maxDistance());
        }
        if (source.filter() != null) {
            b.field("filter");
            source.filter().toXContent(b, ToXContent.EMPTY_PARAMS);
        }
        b.field("boost", source.boost());
        if (source.queryName() != null) {
            b.field("_name", source.queryName());
        }
        b.endObject().endObject().endObject();
        try (XContentParser parser = JsonXContent.jsonXContent.createParser(registry, DeprecationHandler.IGNORE_DEPRECATIONS,
            BytesReference.bytes(b).streamInput())) {
            parser.nextToken();
            return AbstractQueryBuilder.parseInnerQueryBuilder(parser);
        } catch (RuntimeException e) {
            if (isUnknownQuery(e)) {
                throw missingKnn();
            }
            throw e;
        }
    }

    private static boolean isUnknownQuery(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && t.getMessage().contains("unknown query [" + KNN + "]")) {
                return true;
            }
            if (t.getClass().getSimpleName().equals("NamedObjectNotFoundException")) {
                return true;
            }
        }
        return false;
    }
}
