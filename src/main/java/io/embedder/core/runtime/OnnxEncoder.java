package io.embedder.core.runtime;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.embedder.core.EmbedderException;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * One ONNX Runtime session for a model, created once and shared by all threads ({@code OrtSession.run} is
 * thread-safe). Checks at load that the graph takes the inputs we feed and that its output has the rank the
 * pooling reads.
 */
public final class OnnxEncoder implements LoadedModel.Encoder {

    static final String INPUT_IDS = "input_ids";
    static final String ATTENTION_MASK = "attention_mask";
    static final String TOKEN_TYPE_IDS = "token_type_ids";
    private static final Set<String> KNOWN_INPUTS = Set.of(INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS);

    private final OrtSession session;
    private final String output;
    private final boolean takesTokenTypes;
    private final int dimensions;
    private final int outputRank;
    private final double paddingCost;

    private OnnxEncoder(OrtSession session, String output, boolean takesTokenTypes, int dimensions, int outputRank, double paddingCost) {
        this.session = session;
        this.output = output;
        this.takesTokenTypes = takesTokenTypes;
        this.dimensions = dimensions;
        this.outputRank = outputRank;
        this.paddingCost = paddingCost;
    }

    /**
     * Opens the graph and checks its interface.
     *
     * @param outputRank the rank the pooling expects: 3 for token states, 2 for pooled vectors
     */
    public static OnnxEncoder load(String model, Path onnxFile, String output, int outputRank, int threads) {
        return open(model, onnxFile, (env, options) -> env.createSession(onnxFile.toString(), options), output, outputRank, threads, 1.0);
    }

    /**
     * Opens a graph given as bytes (a rewrite of {@code onnxFile}, which names it in messages) and checks its
     * interface as {@link #load} does; its external data, if any, is read from {@code onnxFile}'s directory.
     *
     * @param paddingCost what a padded position costs a run of this graph, relative to a token ({@link #paddingCost()})
     */
    public static OnnxEncoder load(String model, Path onnxFile, byte[] graph, String output, int outputRank, int threads,
                                   double paddingCost) {
        return open(model, onnxFile, (env, options) -> {
            Path dir = onnxFile.toAbsolutePath().getParent();
            options.addConfigEntry("session.model_external_initializers_file_folder_path", dir.toString());
            return env.createSession(graph, options);
        }, output, outputRank, threads, paddingCost);
    }

    /** Creates a session with the options it is given. */
    @FunctionalInterface
    private interface SessionFactory {
        OrtSession create(OrtEnvironment env, OrtSession.SessionOptions options) throws OrtException;
    }

    private static OnnxEncoder open(String model, Path onnxFile, SessionFactory factory, String output, int outputRank, int threads,
                                    double paddingCost) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession session = null;
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            // ORT's own pool threads (intra-op threads > 1) would otherwise spin between runs, taking cores from the node
            options.addConfigEntry("session.intra_op.allow_spinning", "0");
            // basic (constant folding, redundant nodes): the extended level's fused LayerNormalization and BiasGelu run
            // slower on CPU than the plain operators they replace, 3 to 9% per run on the bundled models
            // (OnnxOptimizationBench, BENCHMARKS.md "ONNX Runtime optimization level")
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.BASIC_OPT);
            session = factory.create(env, options);
            Set<String> inputs = session.getInputNames();
            Set<String> unknown = new TreeSet<>(inputs);
            unknown.removeAll(KNOWN_INPUTS);
            if (!unknown.isEmpty() || !inputs.contains(INPUT_IDS) || !inputs.contains(ATTENTION_MASK)) {
                throw EmbedderException.invalidModel(model, "the ONNX graph takes inputs " + new TreeSet<>(inputs)
                    + "; supported: input_ids and attention_mask, optionally token_type_ids");
            }
            NodeInfo info = session.getOutputInfo().get(output);
            if (info == null) {
                throw EmbedderException.invalidModel(model, "the ONNX graph has no output [" + output + "]; its outputs are "
                    + new TreeSet<>(session.getOutputNames()));
            }
            long[] shape = ((TensorInfo) info.getInfo()).getShape();
            if (shape.length != outputRank) {
                throw EmbedderException.invalidModel(model, "output [" + output + "] has rank " + shape.length + " but the pooling reads rank "
                    + outputRank + (outputRank == 3 ? " ([batch, tokens, dim])" : " ([batch, dim]): use pooling [none] only for graphs that pool"));
            }
            long dim = shape[shape.length - 1];
            OnnxEncoder encoder = new OnnxEncoder(session, output, inputs.contains(TOKEN_TYPE_IDS), (int) dim, outputRank, paddingCost);
            session = null;
            return encoder;
        } catch (OrtException e) {
            throw EmbedderException.invalidModel(model, "cannot load ONNX file [" + onnxFile.getFileName() + "]: " + e.getMessage());
        } finally {
            if (session != null) {
                try {
                    session.close();
                } catch (OrtException ignored) {
                    // already failing
                }
            }
        }
    }

    /** Whether {@link #run} gives one vector per text ({@code [batch, dim]}) rather than token states. */
    @Override
    public boolean pooled() {
        return outputRank == 2;
    }

    @Override
    public double paddingCost() {
        return paddingCost;
    }

    /** The output's last dimension as the graph declares it, or -1 when dynamic. */
    public int declaredDimensions() {
        return dimensions;
    }

    /**
     * Runs the padded {@code [batch, seq]} batch held in {@code buffers} (read in place) and has ONNX Runtime write
     * the output straight into {@code buffers.output()}: {@code [batch, seq, dim]} token states, or {@code [batch, dim]}
     * when the graph pools. The caller sized the buffers.
     */
    @Override
    public HiddenStates run(BatchBuffers buffers, int batch, int seq, int dim) {
        long[] shape = {batch, seq};
        boolean pooled = outputRank == 2;
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> inputs = new HashMap<>();
        OnnxTensor out = null;
        try {
            inputs.put(INPUT_IDS, OnnxTensor.createTensor(env, buffers.ids(), shape));
            inputs.put(ATTENTION_MASK, OnnxTensor.createTensor(env, buffers.mask(), shape));
            if (takesTokenTypes) {
                inputs.put(TOKEN_TYPE_IDS, OnnxTensor.createTensor(env, buffers.types(), shape));
            }
            out = OnnxTensor.createTensor(env, buffers.output(), pooled ? new long[] {batch, dim} : new long[] {batch, seq, dim});
            try (OrtSession.Result ignored = session.run(inputs, Map.of(output, out))) {
                return new HiddenStates(buffers.output(), buffers.mask(), batch, pooled ? 1 : seq, dim, pooled);
            }
        } catch (OrtException e) {
            throw new EmbedderException(EmbedderException.Kind.INFERENCE_FAILED, "ONNX inference failed: " + e.getMessage(), e);
        } finally {
            for (OnnxTensor t : inputs.values()) {
                t.close();
            }
            if (out != null) {
                out.close();
            }
        }
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
    }

}
