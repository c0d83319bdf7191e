package io.embedder.action;

import org.opensearch.action.ActionRequest;
import org.opensearch.action.ActionRequestValidationException;
import org.opensearch.action.ActionType;
import org.opensearch.core.action.ActionResponse;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.ToXContentObject;
import org.opensearch.core.xcontent.XContentBuilder;

import java.io.IOException;
import java.util.Map;

/**
 * Read-only information about this node's embedder, as a JSON-shaped map: {@code cluster:monitor/embedder/models}
 * (the models and where their settings came from).
 */
public final class InfoAction extends ActionType<InfoAction.Response> {

    public static final InfoAction MODELS = new InfoAction("cluster:monitor/embedder/models");

    private InfoAction(String name) {
        super(name, Response::new);
    }

    /** An optional model name: null asks for all. */
    public static final class Request extends ActionRequest {
        private final String model;

        public Request(String model) {
            this.model = model;
        }

        public Request(StreamInput in) throws IOException {
            super(in);
            this.model = in.readOptionalString();
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeOptionalString(model);
        }

        public String model() {
            return model;
        }

        @Override
        public ActionRequestValidationException validate() {
            return null;
        }
    }

    public static final class Response extends ActionResponse implements ToXContentObject {
        private final Map<String, Object> content;

        public Response(Map<String, Object> content) {
            this.content = content;
        }

        public Response(StreamInput in) throws IOException {
            super(in);
            this.content = in.readMap();
        }

        public Map<String, Object> content() {
            return content;
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeMap(content);
        }

        @Override
        public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
            return builder.map(content);
        }
    }
}
