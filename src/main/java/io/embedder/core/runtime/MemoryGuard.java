package io.embedder.core.runtime;

import java.lang.management.ManagementFactory;

/** Free physical memory, as the JVM's operating-system bean reports it. */
final class MemoryGuard {

    private MemoryGuard() {}

    /** Free physical memory in bytes, or -1 when the platform does not say. */
    static long freePhysicalBytes() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getFreeMemorySize();
        }
        return -1;
    }
}
