package io.embedder.core.lateinteraction;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The MaxSim loops on the Panama Vector API ({@code jdk.incubator.vector}, the JDK's SIMD API that Lucene's
 * VectorUtil also uses when the JVM runs with {@code --add-modules jdk.incubator.vector}). Compiled apart from the
 * rest (see the pom) and loaded by name only when the module is present ({@link MaxSimKernels}).
 *
 * <p>Register blocking: a group of {@link #GROUP} document vectors is widened into float scratch rows, then one pass
 * over the transposed query's rows computes the group's dot products with two registers of query vectors
 * ({@code 2 × GROUP} independent accumulators: enough to keep two FMA units busy, few enough for the register file:
 * 8 vectors per group with 32 registers of 512 bits, 4 with 16 registers of 256 bits), loading each query row once
 * per group. Lane {@code i} of an accumulator is query vector {@code i}'s dot product, so the maximum over document
 * vectors is a lane-wise max and no horizontal sum is ever needed.
 */
final class PanamaMaxSimKernel implements MaxSimKernel {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Byte> BYTES = ByteVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final int GROUP = S.vectorBitSize() >= 512 ? 8 : 4;
    private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
    private static final VarHandle LE_FLOAT = MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);

    @Override
    public String description() {
        return "panama (" + S.vectorBitSize() + "-bit vectors" + (FMA ? ", fma)" : ")");
    }

    /** The query count is padded to fill the two query registers of a pass. */
    @Override
    public int queryPadding() {
        return 2 * L;
    }

    @Override
    public int scratchRows() {
        return GROUP + 1; // the group's widened vectors, then their scales
    }

    @Override
    public void floatMax(float[][] rows, int paddedCount, byte[] bytes, int at, int n, float[] best, float[][] scratch) {
        int dims = rows.length;
        int stride = dims * Float.BYTES;
        for (int j = 0; j < n; j += GROUP) {
            int g = Math.min(GROUP, n - j);
            for (int m = 0; m < g; m++) {
                decodeFloats(bytes, at + (j + m) * stride, dims, scratch[m]);
            }
            dots(rows, paddedCount, scratch, g, null, best);
        }
    }

    @Override
    public void byteMax(float[][] rows, int paddedCount, byte[] bytes, int at, int n, float[] best, float[][] scratch) {
        int dims = rows.length;
        int stride = Float.BYTES + dims;
        float[] scales = scratch[GROUP];
        for (int j = 0; j < n; j += GROUP) {
            int g = Math.min(GROUP, n - j);
            for (int m = 0; m < g; m++) {
                int s = at + (j + m) * stride;
                scales[m] = (float) LE_FLOAT.get(bytes, s);
                float[] into = scratch[m];
                for (int k = 0; k < dims; k++) {
                    into[k] = bytes[s + Float.BYTES + k];
                }
            }
            dots(rows, paddedCount, scratch, g, scales, best);
        }
    }

    /** The little-endian float32 at bytes[from ..] into into[0 .. dims): whole registers reinterpreted, then the rest. */
    private static void decodeFloats(byte[] bytes, int from, int dims, float[] into) {
        int k = 0;
        if (LITTLE_ENDIAN) {
            for (; k + L <= dims; k += L) {
                ByteVector.fromArray(BYTES, bytes, from + k * Float.BYTES).reinterpretAsFloats().intoArray(into, k);
            }
        }
        for (; k < dims; k++) {
            into[k] = (float) LE_FLOAT.get(bytes, from + k * Float.BYTES);
        }
    }

    /** For the first g scratch rows x_m: best = max(best, (Σ_k rows[k] · x_m[k]) × scale_m) lane-wise. */
    private static void dots(float[][] rows, int paddedCount, float[][] x, int g, float[] scales, float[] best) {
        for (int q = 0; q < paddedCount; q += 2 * L) {
            if (GROUP == 8 && g > 4) {
                dots8(rows, q, x, g, scales, best);
            } else {
                dots4(rows, q, x, g, scales, best);
            }
        }
    }

    private static void dots8(float[][] rows, int q, float[][] x, int g, float[] scales, float[] best) {
        float[] x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3], x4 = x[4], x5 = x[5], x6 = x[6], x7 = x[7];
        FloatVector z = FloatVector.zero(S);
        FloatVector a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
        FloatVector a40 = z, a41 = z, a50 = z, a51 = z, a60 = z, a61 = z, a70 = z, a71 = z;
        for (int k = 0; k < rows.length; k++) {
            float[] row = rows[k];
            FloatVector q0 = FloatVector.fromArray(S, row, q);
            FloatVector q1 = FloatVector.fromArray(S, row, q + L);
            FloatVector b0 = FloatVector.broadcast(S, x0[k]);
            a00 = madd(q0, b0, a00);
            a01 = madd(q1, b0, a01);
            FloatVector b1 = FloatVector.broadcast(S, x1[k]);
            a10 = madd(q0, b1, a10);
            a11 = madd(q1, b1, a11);
            FloatVector b2 = FloatVector.broadcast(S, x2[k]);
            a20 = madd(q0, b2, a20);
            a21 = madd(q1, b2, a21);
            FloatVector b3 = FloatVector.broadcast(S, x3[k]);
            a30 = madd(q0, b3, a30);
            a31 = madd(q1, b3, a31);
            FloatVector b4 = FloatVector.broadcast(S, x4[k]);
            a40 = madd(q0, b4, a40);
            a41 = madd(q1, b4, a41);
            FloatVector b5 = FloatVector.broadcast(S, x5[k]);
            a50 = madd(q0, b5, a50);
            a51 = madd(q1, b5, a51);
            FloatVector b6 = FloatVector.broadcast(S, x6[k]);
            a60 = madd(q0, b6, a60);
            a61 = madd(q1, b6, a61);
            FloatVector b7 = FloatVector.broadcast(S, x7[k]);
            a70 = madd(q0, b7, a70);
            a71 = madd(q1, b7, a71);
        }
        FloatVector m0 = FloatVector.fromArray(S, best, q), m1 = FloatVector.fromArray(S, best, q + L);
        // only the group's g real vectors count (the other rows hold an earlier vector or zeros)
        m0 = m0.max(scaled(a00, scales, 0));
        m1 = m1.max(scaled(a01, scales, 0));
        if (g > 1) { m0 = m0.max(scaled(a10, scales, 1)); m1 = m1.max(scaled(a11, scales, 1)); }
        if (g > 2) { m0 = m0.max(scaled(a20, scales, 2)); m1 = m1.max(scaled(a21, scales, 2)); }
        if (g > 3) { m0 = m0.max(scaled(a30, scales, 3)); m1 = m1.max(scaled(a31, scales, 3)); }
        if (g > 4) { m0 = m0.max(scaled(a40, scales, 4)); m1 = m1.max(scaled(a41, scales, 4)); }
        if (g > 5) { m0 = m0.max(scaled(a50, scales, 5)); m1 = m1.max(scaled(a51, scales, 5)); }
        if (g > 6) { m0 = m0.max(scaled(a60, scales, 6)); m1 = m1.max(scaled(a61, scales, 6)); }
        if (g > 7) { m0 = m0.max(scaled(a70, scales, 7)); m1 = m1.max(scaled(a71, scales, 7)); }
        m0.intoArray(best, q);
        m1.intoArray(best, q + L);
    }

    private static void dots4(float[][] rows, int q, float[][] x, int g, float[] scales, float[] best) {
        float[] x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
        FloatVector z = FloatVector.zero(S);
        FloatVector a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
        for (int k = 0; k < rows.length; k++) {
            float[] row = rows[k];
            FloatVector q0 = FloatVector.fromArray(S, row, q);
            FloatVector q1 = FloatVector.fromArray(S, row, q + L);
            FloatVector b0 = FloatVector.broadcast(S, x0[k]);
            a00 = madd(q0, b0, a00);
            a01 = madd(q1, b0, a01);
            FloatVector b1 = FloatVector.broadcast(S, x1[k]);
            a10 = madd(q0, b1, a10);
            a11 = madd(q1, b1, a11);
            FloatVector b2 = FloatVector.broadcast(S, x2[k]);
            a20 = madd(q0, b2, a20);
            a21 = madd(q1, b2, a21);
            FloatVector b3 = FloatVector.broadcast(S, x3[k]);
            a30 = madd(q0, b3, a30);
            a31 = madd(q1, b3, a31);
        }
        FloatVector m0 = FloatVector.fromArray(S, best, q), m1 = FloatVector.fromArray(S, best, q + L);
        m0 = m0.max(scaled(a00, scales, 0));
        m1 = m1.max(scaled(a01, scales, 0));
        if (g > 1) { m0 = m0.max(scaled(a10, scales, 1)); m1 = m1.max(scaled(a11, scales, 1)); }
        if (g > 2) { m0 = m0.max(scaled(a20, scales, 2)); m1 = m1.max(scaled(a21, scales, 2)); }
        if (g > 3) { m0 = m0.max(scaled(a30, scales, 3)); m1 = m1.max(scaled(a31, scales, 3)); }
        m0.intoArray(best, q);
        m1.intoArray(best, q + L);
    }

    private static FloatVector madd(FloatVector a, FloatVector b, FloatVector c) {
        return FMA ? a.fma(b, c) : a.mul(b).add(c);
    }

    private static FloatVector scaled(FloatVector dots, float[] scales, int m) {
        return scales == null ? dots : dots.mul(scales[m]);
    }

    // ---- bit: the sum of one table row per stored byte, four document vectors per pass

    @Override
    public void bitMax(float[][] bitRows, int paddedCount, int bytesPerVector, byte[] bytes, int at, int n, float[] best, float[][] scratch) {
        int j = 0;
        for (; j + 4 <= n; j += 4) {
            for (int q = 0; q < paddedCount; q += 2 * L) {
                bits4(bitRows, bytesPerVector, bytes, at + j * bytesPerVector, q, best);
            }
        }
        for (; j < n; j++) {
            int v = at + j * bytesPerVector;
            for (int q = 0; q < paddedCount; q += L) {
                FloatVector a = FloatVector.zero(S);
                for (int p = 0; p < bytesPerVector; p++) {
                    a = a.add(FloatVector.fromArray(S, bitRows[p * 256 + (bytes[v + p] & 0xFF)], q));
                }
                FloatVector.fromArray(S, best, q).max(a).intoArray(best, q);
            }
        }
    }

    private static void bits4(float[][] bitRows, int bytesPerVector, byte[] bytes, int v, int q, float[] best) {
        FloatVector z = FloatVector.zero(S);
        FloatVector a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
        for (int p = 0, block = 0; p < bytesPerVector; p++, v++, block += 256) {
            float[] r0 = bitRows[block + (bytes[v] & 0xFF)];
            float[] r1 = bitRows[block + (bytes[v + bytesPerVector] & 0xFF)];
            float[] r2 = bitRows[block + (bytes[v + 2 * bytesPerVector] & 0xFF)];
            float[] r3 = bitRows[block + (bytes[v + 3 * bytesPerVector] & 0xFF)];
            a00 = a00.add(FloatVector.fromArray(S, r0, q));
            a01 = a01.add(FloatVector.fromArray(S, r0, q + L));
            a10 = a10.add(FloatVector.fromArray(S, r1, q));
            a11 = a11.add(FloatVector.fromArray(S, r1, q + L));
            a20 = a20.add(FloatVector.fromArray(S, r2, q));
            a21 = a21.add(FloatVector.fromArray(S, r2, q + L));
            a30 = a30.add(FloatVector.fromArray(S, r3, q));
            a31 = a31.add(FloatVector.fromArray(S, r3, q + L));
        }
        FloatVector.fromArray(S, best, q).max(a00.max(a10)).max(a20.max(a30)).intoArray(best, q);
        FloatVector.fromArray(S, best, q + L).max(a01.max(a11)).max(a21.max(a31)).intoArray(best, q + L);
    }
}
