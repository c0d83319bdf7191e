package io.embedder.it;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A process's CPU time by kind of thread, read from {@code /proc/<pid>/task/<tid>/stat}: the embedder's inference
 * threads, the JIT compilers, the garbage collector, and all the rest (HTTP, bulk, ingest, indexing, refresh). Linux
 * keeps the first 15 characters of a thread's name, which tell these apart ({@code embedder-native}, {@code C2
 * CompilerThre}, {@code GC Thread#0}, {@code G1 Refine#0}), though not one OpenSearch pool from another. Threads that
 * ended between two readings are missed; pools keep theirs.
 */
final class ThreadCpu {

    static final String INFERENCE = "inference threads", JIT = "JIT compilers", GC = "garbage collector", OTHER = "other threads";

    private ThreadCpu() {}

    /** CPU seconds (user + system) per kind, in a fixed order; empty if /proc cannot be read. */
    static Map<String, Double> read(String pid) {
        Map<String, Double> seconds = new LinkedHashMap<>();
        for (String kind : new String[] {INFERENCE, JIT, GC, OTHER}) {
            seconds.put(kind, 0.0);
        }
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", pid, "task"))) {
            for (Path task : tasks) {
                String stat;
                try {
                    stat = Files.readString(task.resolve("stat"));
                } catch (IOException ended) {
                    continue;
                }
                String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                seconds.merge(kind(name), cpuSeconds(stat), Double::sum);
            }
        } catch (IOException e) {
            return Map.of();
        }
        return seconds;
    }

    /** CPU seconds (user + system) in a {@code /proc/.../stat} line: its fields 14 and 15, in clock ticks (USER_HZ, 100 on Linux). */
    static double cpuSeconds(String stat) {
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
    }

    /**
     * The machine's CPU seconds so far, {busy, idle} summed over its cores, from the first line of {@code /proc/stat}
     * (idle counts iowait too); null when it cannot be read.
     */
    static double[] machine() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long total = 0;
            for (int i = 1; i < Math.min(f.length, 9); i++) { // user nice system idle iowait irq softirq steal
                total += Long.parseLong(f[i]);
            }
            long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
            return new double[] {(total - idle) / 100.0, idle / 100.0};
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** {@code after - before} per kind. */
    static Map<String, Double> minus(Map<String, Double> after, Map<String, Double> before) {
        Map<String, Double> d = new LinkedHashMap<>();
        after.forEach((kind, s) -> d.put(kind, s - before.getOrDefault(kind, 0.0)));
        return d;
    }

    private static String kind(String name) {
        if (name.startsWith("embedder-native")) {
            return INFERENCE;
        } else if (name.startsWith("C1 Compiler") || name.startsWith("C2 Compiler")) {
            return JIT;
        } else if (name.startsWith("GC Thread") || name.startsWith("G1 ")) {
            return GC;
        }
        return OTHER;
    }
}
