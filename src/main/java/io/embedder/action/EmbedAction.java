package io.embedder.action;

import io.embedder.core.Task;
import org.opensearch.action.ActionRequest;
import org.opensearch.action.ActionRequestValidationException;
import org.opensearch.action.ActionType;
import org.opensearch.core.action.ActionResponse;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.ToXContentObject;
import org.opensearch.core.xcontent.XContentBuilder;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code cluster:admin/embedder/embed}: texts in, vectors out. An action of its own, so the security plugin's roles
 * can grant or deny it like any other.
 */
public final class EmbedAction extends ActionType<EmbedAction.Response> {

    public static final String NAME = "cluster:admin/embedder/embed";
    public static final EmbedAction INSTANCE = new EmbedAction();

    private EmbedAction() {
        super(NAME, Response::new);
    }

    /** The model's name and the request body, validated by the embedder core where it runs. */
    public static final class Request extends ActionRequest {
        private final String model;
        private final Map<String, Object> body;

        public Request(String model, Map<String, Object> body) {
            this.model = model;
            this.body = body;
        }

        public Request(StreamInput in) throws IOException {
            super(in);
            this.model = in.readString();
            this.body = in.readMap();
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeString(model);
            out.writeMap(body);
        }

        public String model() {
            return model;
        }

        public Map<String, Object> body() {
            return body;
        }

        @Override
        public ActionRequestValidationException validate() {
            return null;
        }
    }

    /** Vectors in input order: one per text ({@code embed}) or one list of token vectors per text ({@code token_embed}). */
    public static final class Response extends ActionResponse implements ToXContentObject {
        private final String model;
        private final Task task;
        private final int dimensions;
        private final List<float[][]> perText;

        public Response(String model, Task task, int dimensions, List<float[][]> perText) {
            this.model = model;
            this.task = task;
            this.dimensions = dimensions;
            this.perText = perText;
        }

        public Response(StreamInput in) throws IOException {
            super(in);
            this.model = in.readString();
            this.task = Task.fromId(in.readString());
            this.dimensions = in.readVInt();
            int n = in.readVInt();
            this.perText = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                float[][] vectors = new float[in.readVInt()][];
                for (int j = 0; j < vectors.length; j++) {
                    vectors[j] = in.readFloatArray();
                }
                perText.add(vectors);
            }
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeString(model);
            out.writeString(task.id());
            out.writeVInt(dimensions);
            out.writeVInt(perText.size());
            for (float[][] vectors : perText) {
                out.writeVInt(vectors.length);
                for (float[] v : vectors) {
                    out.writeFloatArray(v);
                }
            }
        }

        @Override
        public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
            builder.startObject().field("model", model).field("task", task.id()).field("dimensions", dimensions);
            builder.startArray("embeddings");
            for (float[][] vectors : perText) {
                if (task == Task.TOKEN_EMBED) {
                    builder.startArray();
                }
                for (float[] v : vectors) {
                    builder.startArray();
                    for (float x : v) {
                        builder.value(x);
                    }
                    builder.endArray();
                }
                if (task == Task.TOKEN_EMBED) {
                    builder.endArray();
                }
            }
            return builder.endArray().endObject();
        }
    }
}
