package io.embedder.core.runtime;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.embedder.core.EmbedderException;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * One ONNX Runtime session for a model, created once and shared by all threads ({@code OrtSession.run} is
 * thread-safe). Checks at load that the graph takes the inputs we feed and that its output has the rank the
 * pooling reads.
 */
public final class OnnxEncoder implements AutoCloseable {

    static final String INPUT_IDS = "input_ids";
    static final String ATTENTION_MASK = "attention_mask";
    static final String TOKEN_TYPE_IDS = "token_type_ids";
    private static final Set<String> KNOWN_INPUTS = Set.of(INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS);

    private final OrtSession session;
    private final String output;
    private final boolean takesTokenTypes;
    private final int dimensions;

    private OnnxEncoder(OrtSession session, String output, boolean takesTokenTypes, int dimensions) {
        this.session = session;
        this.output = output;
        this.takesTokenTypes = takesTokenTypes;
        this.dimensions = dimensions;
    }

    /**
     * Opens the graph and checks its interface.
     *
     * @param outputRank the rank the pooling expects: 3 for token states, 2 for pooled vectors
     */
    public static OnnxEncoder load(String model, Path onnxFile, String output, int outputRank, int threads) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession session = null;
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            session = env.createSession(onnxFile.toString(), options);
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
            OnnxEncoder encoder = new OnnxEncoder(session, output, inputs.contains(TOKEN_TYPE_IDS), (int) dim);
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

    /** The output's last dimension as the graph declares it, or -1 when dynamic. */
    public int declaredDimensions() {
        return dimensions;
    }

    /**
     * Runs one padded batch. All arrays are flat {@code [batch, seq]}.
     */
    public HiddenStates run(long[] ids, long[] mask, long[] types, int batch, int seq) {
        long[] shape = {batch, seq};
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            inputs.put(INPUT_IDS, OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape));
            inputs.put(ATTENTION_MASK, OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape));
            if (takesTokenTypes) {
                inputs.put(TOKEN_TYPE_IDS, OnnxTensor.createTensor(env, LongBuffer.wrap(types), shape));
            }
            try (OrtSession.Result result = session.run(inputs, Set.of(output))) {
                Optional<OnnxValue> value = result.get(output);
                OnnxTensor tensor = (OnnxTensor) value.orElseThrow();
                long[] outShape = tensor.getInfo().getShape();
                FloatBuffer buffer = tensor.getFloatBuffer();
                float[] data = new float[buffer.remaining()];
                buffer.get(data);
                if (outShape.length == 3) {
                    return new HiddenStates(data, mask, batch, (int) outShape[1], (int) outShape[2], false);
                }
                return new HiddenStates(data, mask, batch, 1, (int) outShape[1], true);
            }
        } catch (OrtException e) {
            throw new EmbedderException(EmbedderException.Kind.INFERENCE_FAILED, "ONNX inference failed: " + e.getMessage(), e);
        } finally {
            for (OnnxTensor t : inputs.values()) {
                t.close();
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
