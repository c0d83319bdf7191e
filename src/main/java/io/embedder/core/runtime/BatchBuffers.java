package io.embedder.core.runtime;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.List;

/**
 * One inference thread's reusable native-order direct buffers: the padded {@code [batch, seq]} inputs, which ONNX
 * Runtime reads in place, and the output it writes in place, which pooling reads. They grow to the largest batch
 * the thread has run and are never shared between threads. Not thread-safe.
 */
public final class BatchBuffers {

    private LongBuffer ids = LongBuffer.allocate(0);
    private LongBuffer mask = LongBuffer.allocate(0);
    private LongBuffer types = LongBuffer.allocate(0);
    private FloatBuffer output = FloatBuffer.allocate(0);

    /** Sizes the inputs for {@code tokens} padded tokens, zero-filled, and the output for {@code outputFloats} floats. */
    void reset(int tokens, int outputFloats) {
        if (ids.capacity() < tokens) {
            int capacity = Math.max(tokens, ids.capacity() * 3 / 2);
            ids = longs(capacity);
            mask = longs(capacity);
            types = longs(capacity);
        }
        if (output.capacity() < outputFloats) {
            output = ByteBuffer.allocateDirect(Math.multiplyExact(Math.max(outputFloats, output.capacity() * 3 / 2), Float.BYTES))
                .order(ByteOrder.nativeOrder()).asFloatBuffer();
        }
        for (LongBuffer b : new LongBuffer[] {ids, mask, types}) {
            b.clear().limit(tokens);
            for (int i = 0; i < tokens; i++) {
                b.put(i, 0L);
            }
        }
        output.clear().limit(outputFloats);
    }

    /**
     * Sizes the buffers for {@code texts} padded to {@code seq} tokens each (right, or left with {@code leftPadding})
     * and an output of {@code outputFloats}, and writes the texts' ids, token types and attention masks: a text's own
     * mask when it has one (a ColBERT query's expansion tokens may be unattended), else all 1s.
     */
    void fill(List<TokenizedText> texts, int seq, boolean leftPadding, int outputFloats) {
        reset(texts.size() * seq, outputFloats);
        for (int row = 0; row < texts.size(); row++) {
            TokenizedText t = texts.get(row);
            assert t.length() <= seq;
            int offset = row * seq + (leftPadding ? seq - t.length() : 0);
            ids.put(offset, t.ids());
            types.put(offset, t.typeIds());
            if (t.attention() != null) {
                mask.put(offset, t.attention());
            } else {
                for (int i = 0; i < t.length(); i++) {
                    mask.put(offset + i, 1L);
                }
            }
        }
    }

    private static LongBuffer longs(int capacity) {
        return ByteBuffer.allocateDirect(Math.multiplyExact(capacity, Long.BYTES)).order(ByteOrder.nativeOrder()).asLongBuffer();
    }

    /** Token ids, {@code [batch, seq]}, position 0, limited to the batch. */
    public LongBuffer ids() {
        return ids;
    }

    public LongBuffer mask() {
        return mask;
    }

    public LongBuffer types() {
        return types;
    }

    /** Where the model's output goes, position 0, limited to its size. */
    public FloatBuffer output() {
        return output;
    }
}
