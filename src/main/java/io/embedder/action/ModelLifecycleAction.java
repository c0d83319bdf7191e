package io.embedder.action;

import org.opensearch.action.ActionType;
import org.opensearch.action.FailedNodeException;
import org.opensearch.action.support.nodes.BaseNodeResponse;
import org.opensearch.action.support.nodes.BaseNodesRequest;
import org.opensearch.action.support.nodes.BaseNodesResponse;
import org.opensearch.cluster.ClusterName;
import org.opensearch.cluster.node.DiscoveryNode;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.ToXContentFragment;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.transport.TransportRequest;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Loads ({@code cluster:admin/embedder/models/load}) or unloads ({@code cluster:admin/embedder/models/unload}) a model
 * on every selected node: each node loads its own copy from its own models directory. The answer lists each node's
 * outcome and, for a load, the configuration the node detected in the model's files.
 */
public final class ModelLifecycleAction extends ActionType<ModelLifecycleAction.Response> {

    public static final ModelLifecycleAction LOAD = new ModelLifecycleAction("cluster:admin/embedder/models/load");
    public static final ModelLifecycleAction UNLOAD = new ModelLifecycleAction("cluster:admin/embedder/models/unload");

    private ModelLifecycleAction(String name) {
        super(name, Response::new);
    }

    /** What a node did. */
    public enum Outcome {
        /** the model was not in memory and now is */
        LOADED,
        /** the model was in memory: a fresh copy from its files replaced it */
        RELOADED,
        UNLOADED,
        /** an unload found the model not in memory */
        NOT_LOADED;

        String id() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** The model, and node ids or names (none: all nodes). */
    public static final class Request extends BaseNodesRequest<Request> {
        private final String model;

        public Request(String model, String... nodeIds) {
            super(nodeIds);
            this.model = model;
        }

        public Request(StreamInput in) throws IOException {
            super(in);
            this.model = in.readString();
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeString(model);
        }

        public String model() {
            return model;
        }
    }

    public static final class NodeRequest extends TransportRequest {
        private final String model;

        NodeRequest(String model) {
            this.model = model;
        }

        public NodeRequest(StreamInput in) throws IOException {
            super(in);
            this.model = in.readString();
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeString(model);
        }

        String model() {
            return model;
        }
    }

    /**
     * @param config for a load, the models API's view of the model as this node detected it (with each value's source);
     *               empty for an unload
     */
    public static final class NodeResponse extends BaseNodeResponse {
        private final Outcome outcome;
        private final long loadMillis;
        private final long warmupMillis;
        private final Map<String, Object> config;

        NodeResponse(DiscoveryNode node, Outcome outcome, long loadMillis, long warmupMillis, Map<String, Object> config) {
            super(node);
            this.outcome = outcome;
            this.loadMillis = loadMillis;
            this.warmupMillis = warmupMillis;
            this.config = config;
        }

        public NodeResponse(StreamInput in) throws IOException {
            super(in);
            this.outcome = in.readEnum(Outcome.class);
            this.loadMillis = in.readVLong();
            this.warmupMillis = in.readVLong();
            this.config = in.readMap();
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeEnum(outcome);
            out.writeVLong(loadMillis);
            out.writeVLong(warmupMillis);
            out.writeMap(config);
        }

        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", getNode().getName());
            m.put("outcome", outcome.id());
            if (outcome == Outcome.LOADED || outcome == Outcome.RELOADED) {
                m.put("load_time_ms", loadMillis);
                m.put("warmup_ms", warmupMillis);
                m.put("config", config);
            }
            return m;
        }
    }

    public static final class Response extends BaseNodesResponse<NodeResponse> implements ToXContentFragment {
        private final String model;

        public Response(ClusterName clusterName, String model, List<NodeResponse> nodes, List<FailedNodeException> failures) {
            super(clusterName, nodes, failures);
            this.model = model;
        }

        public Response(StreamInput in) throws IOException {
            super(in);
            this.model = in.readString();
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeString(model);
        }

        @Override
        protected List<NodeResponse> readNodesFrom(StreamInput in) throws IOException {
            return in.readList(NodeResponse::new);
        }

        @Override
        protected void writeNodesTo(StreamOutput out, List<NodeResponse> nodes) throws IOException {
            out.writeList(nodes);
        }

        /** The fields after {@code _nodes} and {@code cluster_name}, which {@code RestActions.nodesResponse} writes. */
        @Override
        public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
            builder.field("model", model);
            builder.startObject("nodes");
            for (NodeResponse node : getNodes()) {
                builder.field(node.getNode().getId(), node.toMap());
            }
            return builder.endObject();
        }
    }
}
