package io.embedder.action;

import io.embedder.core.stats.ModelStats;
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
import java.util.TreeMap;

/**
 * {@code cluster:monitor/embedder/stats}: every selected node's per-model counters and inference pool, and the models'
 * counters summed over those nodes.
 */
public final class StatsAction extends ActionType<StatsAction.Response> {

    public static final String NAME = "cluster:monitor/embedder/stats";
    public static final StatsAction INSTANCE = new StatsAction();

    private StatsAction() {
        super(NAME, Response::new);
    }

    /** Node ids or names (none: all nodes) and an optional model name (null: all models). */
    public static final class Request extends BaseNodesRequest<Request> {
        private final String model;

        public Request(String model, String... nodeIds) {
            super(nodeIds);
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
    }

    /** What each node is asked. */
    public static final class NodeRequest extends TransportRequest {
        private final String model;

        NodeRequest(String model) {
            this.model = model;
        }

        public NodeRequest(StreamInput in) throws IOException {
            super(in);
            this.model = in.readOptionalString();
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeOptionalString(model);
        }

        String model() {
            return model;
        }
    }

    /**
     * One of the node's thread pools: {@code embedder}, where {@code _embed} and query calls queue for inference, or
     * {@code embedder_ingest}, where the {@code embed} processor's sub-batches wait for theirs.
     *
     * @param queue    calls waiting now
     * @param rejected calls refused since start because the queue was full
     */
    public record PoolStats(int threads, int queue, int active, long rejected, int largest, long completed) {

        static final PoolStats NONE = new PoolStats(0, 0, 0, 0, 0, 0);

        static PoolStats read(StreamInput in) throws IOException {
            return new PoolStats(in.readVInt(), in.readVInt(), in.readVInt(), in.readVLong(), in.readVInt(), in.readVLong());
        }

        void write(StreamOutput out) throws IOException {
            out.writeVInt(threads);
            out.writeVInt(queue);
            out.writeVInt(active);
            out.writeVLong(rejected);
            out.writeVInt(largest);
            out.writeVLong(completed);
        }

        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("threads", threads);
            m.put("queue", queue);
            m.put("active", active);
            m.put("rejected", rejected);
            m.put("largest", largest);
            m.put("completed", completed);
            return m;
        }
    }

    public static final class NodeStats extends BaseNodeResponse {
        private final String defaultModel;
        private final List<String> preloadModels;
        private final List<ModelStats> models;
        private final PoolStats pool;
        private final PoolStats ingestPool;
        /** Which MaxSim kernel this node's JVM runs (Panama SIMD or plain Java). */
        private final String lateInteractionKernel;
        /** Texts the {@code embed} processor's {@code skip_existing} took from stored documents instead of embedding. */
        private final long reusedTexts;

        NodeStats(DiscoveryNode node, String defaultModel, List<String> preloadModels, List<ModelStats> models, PoolStats pool,
                  PoolStats ingestPool, String lateInteractionKernel, long reusedTexts) {
            super(node);
            this.defaultModel = defaultModel;
            this.preloadModels = preloadModels;
            this.models = models;
            this.pool = pool;
            this.ingestPool = ingestPool;
            this.lateInteractionKernel = lateInteractionKernel;
            this.reusedTexts = reusedTexts;
        }

        public NodeStats(StreamInput in) throws IOException {
            super(in);
            this.defaultModel = in.readString();
            this.preloadModels = in.readStringList();
            this.models = in.readList(StatsWire::read);
            this.pool = PoolStats.read(in);
            this.ingestPool = PoolStats.read(in);
            this.lateInteractionKernel = in.readString();
            this.reusedTexts = in.readVLong();
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeString(defaultModel);
            out.writeStringCollection(preloadModels);
            out.writeCollection(models, StatsWire::write);
            pool.write(out);
            ingestPool.write(out);
            out.writeString(lateInteractionKernel);
            out.writeVLong(reusedTexts);
        }

        public List<ModelStats> models() {
            return models;
        }

        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", getNode().getName());
            m.put("default_model", defaultModel);
            m.put("preload_models", preloadModels);
            long inferences = 0;
            long texts = 0;
            Map<String, Object> perModel = new LinkedHashMap<>();
            for (ModelStats s : models) {
                inferences += s.traffic().requests() - s.traffic().failures();
                texts += s.traffic().texts();
                perModel.put(s.model(), StatsView.model(s, false));
            }
            m.put("inference_count", inferences);
            m.put("text_count", texts);
            m.put("reused_texts", reusedTexts);
            m.put("inference_pool", pool.toMap());
            m.put("ingest_pool", ingestPool.toMap());
            m.put("late_interaction_kernel", lateInteractionKernel);
            m.put("models", perModel);
            return m;
        }
    }

    public static final class Response extends BaseNodesResponse<NodeStats> implements ToXContentFragment {

        public Response(ClusterName clusterName, List<NodeStats> nodes, List<FailedNodeException> failures) {
            super(clusterName, nodes, failures);
        }

        public Response(StreamInput in) throws IOException {
            super(in);
        }

        @Override
        protected List<NodeStats> readNodesFrom(StreamInput in) throws IOException {
            return in.readList(NodeStats::new);
        }

        @Override
        protected void writeNodesTo(StreamOutput out, List<NodeStats> nodes) throws IOException {
            out.writeList(nodes);
        }

        /** Each model's counters summed over the nodes that answered. */
        public Map<String, ModelStats> clusterTotals() {
            Map<String, ModelStats> totals = new TreeMap<>();
            for (NodeStats node : getNodes()) {
                for (ModelStats s : node.models()) {
                    totals.merge(s.model(), s, ModelStats::plus);
                }
            }
            return totals;
        }

        /** The fields after {@code _nodes} and {@code cluster_name}, which {@code RestActions.nodesResponse} writes. */
        @Override
        public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
            Map<String, Object> models = new LinkedHashMap<>();
            clusterTotals().forEach((name, s) -> models.put(name, StatsView.model(s, true)));
            builder.field("models", models);
            builder.startObject("nodes");
            for (NodeStats node : getNodes()) {
                builder.field(node.getNode().getId(), node.toMap());
            }
            return builder.endObject();
        }
    }
}
