package io.embedder.core.lateinteraction;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The MaxSim loops in plain Java, for JVMs without {@code jdk.incubator.vector}. The innermost loop runs over one row
 * of query components with the same index into every array, a form HotSpot's C2 compiles to SIMD instructions by
 * itself; four document vectors share each pass over the query rows, with their dot products in scratch rows.
 */
final class JavaMaxSimKernel implements MaxSimKernel {

    private static final VarHandle LE_FLOAT = MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);

    @Override
    public String description() {
        return "java (auto-vectorized loops" + (FMA ? ", fma)" : ")");
    }

    @Override
    public int queryPadding() {
        return 1;
    }

    @Override
    public int scratchRows() {
        return 4;
    }

    @Override
    public void floatMax(float[][] rows, int paddedCount, byte[] bytes, int at, int n, float[] best, float[][] scratch) {
        float[] a0 = scratch[0], a1 = scratch[1], a2 = scratch[2], a3 = scratch[3];
        int dims = rows.length;
        int stride = dims * Float.BYTES;
        int j = 0;
        for (; j + 4 <= n; j += 4) {
            clear(paddedCount, a0, a1, a2, a3);
            for (int k = 0, x = at + j * stride; k < dims; k++, x += Float.BYTES) {
                madd4(rows[k], paddedCount, (float) LE_FLOAT.get(bytes, x), (float) LE_FLOAT.get(bytes, x + stride),
                    (float) LE_FLOAT.get(bytes, x + 2 * stride), (float) LE_FLOAT.get(bytes, x + 3 * stride), a0, a1, a2, a3);
            }
            foldMax(best, paddedCount, a0, a1, a2, a3);
        }
        for (; j < n; j++) {
            Arrays.fill(a0, 0, paddedCount, 0f);
            for (int k = 0, x = at + j * stride; k < dims; k++, x += Float.BYTES) {
                madd1(rows[k], paddedCount, (float) LE_FLOAT.get(bytes, x), a0);
            }
            foldMax(best, paddedCount, a0);
        }
    }

    @Override
    public void byteMax(float[][] rows, int paddedCount, byte[] bytes, int at, int n, float[] best, float[][] scratch) {
        float[] a0 = scratch[0], a1 = scratch[1], a2 = scratch[2], a3 = scratch[3];
        int dims = rows.length;
        int stride = Float.BYTES + dims;
        int j = 0;
        for (; j + 4 <= n; j += 4) {
            clear(paddedCount, a0, a1, a2, a3);
            int s = at + j * stride;
            for (int k = 0, x = s + Float.BYTES; k < dims; k++, x++) {
                madd4(rows[k], paddedCount, bytes[x], bytes[x + stride], bytes[x + 2 * stride], bytes[x + 3 * stride], a0, a1, a2, a3);
            }
            scale(a0, paddedCount, (float) LE_FLOAT.get(bytes, s));
            scale(a1, paddedCount, (float) LE_FLOAT.get(bytes, s + stride));
            scale(a2, paddedCount, (float) LE_FLOAT.get(bytes, s + 2 * stride));
            scale(a3, paddedCount, (float) LE_FLOAT.get(bytes, s + 3 * stride));
            foldMax(best, paddedCount, a0, a1, a2, a3);
        }
        for (; j < n; j++) {
            Arrays.fill(a0, 0, paddedCount, 0f);
            int s = at + j * stride;
            for (int k = 0, x = s + Float.BYTES; k < dims; k++, x++) {
                madd1(rows[k], paddedCount, bytes[x], a0);
            }
            scale(a0, paddedCount, (float) LE_FLOAT.get(bytes, s));
            foldMax(best, paddedCount, a0);
        }
    }

    @Override
    public void bitMax(float[][] bitRows, int paddedCount, int bytesPerVector, byte[] bytes, int at, int n, float[] best, float[][] scratch) {
        float[] a0 = scratch[0], a1 = scratch[1], a2 = scratch[2], a3 = scratch[3];
        int j = 0;
        for (; j + 4 <= n; j += 4) {
            clear(paddedCount, a0, a1, a2, a3);
            for (int p = 0, v = at + j * bytesPerVector; p < bytesPerVector; p++, v++) {
                int block = p * 256;
                add(bitRows[block + (bytes[v] & 0xFF)], paddedCount, a0);
                add(bitRows[block + (bytes[v + bytesPerVector] & 0xFF)], paddedCount, a1);
                add(bitRows[block + (bytes[v + 2 * bytesPerVector] & 0xFF)], paddedCount, a2);
                add(bitRows[block + (bytes[v + 3 * bytesPerVector] & 0xFF)], paddedCount, a3);
            }
            foldMax(best, paddedCount, a0, a1, a2, a3);
        }
        for (; j < n; j++) {
            Arrays.fill(a0, 0, paddedCount, 0f);
            for (int p = 0, v = at + j * bytesPerVector; p < bytesPerVector; p++, v++) {
                add(bitRows[p * 256 + (bytes[v] & 0xFF)], paddedCount, a0);
            }
            foldMax(best, paddedCount, a0);
        }
    }

    private static float madd(float a, float b, float c) {
        return FMA ? Math.fma(a, b, c) : a * b + c;
    }

    private static void madd4(float[] q, int length, float x0, float x1, float x2, float x3, float[] a0, float[] a1, float[] a2, float[] a3) {
        for (int i = 0; i < length; i++) {
            a0[i] = madd(q[i], x0, a0[i]);
            a1[i] = madd(q[i], x1, a1[i]);
            a2[i] = madd(q[i], x2, a2[i]);
            a3[i] = madd(q[i], x3, a3[i]);
        }
    }

    private static void madd1(float[] q, int length, float x, float[] a) {
        for (int i = 0; i < length; i++) {
            a[i] = madd(q[i], x, a[i]);
        }
    }

    private static void add(float[] row, int length, float[] a) {
        for (int i = 0; i < length; i++) {
            a[i] += row[i];
        }
    }

    private static void scale(float[] a, int length, float s) {
        for (int i = 0; i < length; i++) {
            a[i] *= s;
        }
    }

    private static void clear(int length, float[] a0, float[] a1, float[] a2, float[] a3) {
        Arrays.fill(a0, 0, length, 0f);
        Arrays.fill(a1, 0, length, 0f);
        Arrays.fill(a2, 0, length, 0f);
        Arrays.fill(a3, 0, length, 0f);
    }

    private static void foldMax(float[] best, int length, float[] a) {
        for (int i = 0; i < length; i++) {
            best[i] = Math.max(best[i], a[i]);
        }
    }

    private static void foldMax(float[] best, int length, float[] a0, float[] a1, float[] a2, float[] a3) {
        for (int i = 0; i < length; i++) {
            best[i] = Math.max(Math.max(best[i], Math.max(a0[i], a1[i])), Math.max(a2[i], a3[i]));
        }
    }
}
