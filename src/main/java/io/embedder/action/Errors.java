package io.embedder.action;

import io.embedder.core.EmbedderException;
import org.opensearch.OpenSearchStatusException;
import org.opensearch.ResourceNotFoundException;
import org.opensearch.core.rest.RestStatus;

/** Maps the embedder's errors onto OpenSearch exceptions, whose type and status the REST layer renders. */
public final class Errors {

    private Errors() {}

    public static Exception toOpenSearch(Exception e) {
        if (e instanceof EmbedderException ee) {
            return switch (ee.kind()) {
                case BAD_REQUEST -> new IllegalArgumentException(ee.getMessage(), ee);
                case NOT_FOUND -> new ResourceNotFoundException(ee.getMessage());
                case INVALID_MODEL -> new OpenSearchStatusException(ee.getMessage(), RestStatus.BAD_REQUEST, ee);
                case INFERENCE_FAILED -> new OpenSearchStatusException(ee.getMessage(), RestStatus.INTERNAL_SERVER_ERROR, ee);
            };
        }
        return e;
    }
}
