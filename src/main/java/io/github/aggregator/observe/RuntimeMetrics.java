package io.github.aggregator.observe;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryUsage;
import java.lang.management.OperatingSystemMXBean;
import java.lang.management.RuntimeMXBean;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;

/**
 * The process and the JVM as operators expect them in a Prometheus scrape, under the names Prometheus' own Java client
 * uses ({@code process_*}, {@code jvm_*}), plus {@code aggregator_build_info}. Read from the JVM's management beans at
 * scrape time; a value the platform does not offer (open file descriptors off Unix, resident memory off Linux) is left
 * out rather than reported as a made-up number. Thread-safe.
 */
public final class RuntimeMetrics {
    private static final String BUILD_PROPERTIES = "/io/github/aggregator/observe/build.properties";
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final String VERSION = buildVersion();

    private RuntimeMetrics() {}

    /** The service's version, from the build ({@code project.version} of the pom); {@code unknown} without it. */
    public static String version() {
        return VERSION;
    }

    /** Appends every process and JVM family, then {@code aggregator_build_info}, to {@code out}. */
    public static void write(PrometheusText out) {
        process(out);
        memory(out);
        gc(out);
        threads(out);
        RuntimeMXBean runtime = ManagementFactory.getRuntimeMXBean();
        out.family("jvm_info", "gauge", "The Java runtime: version, vendor and name; always 1.");
        out.sample(
                "jvm_info",
                1,
                "version",
                Runtime.version().toString(),
                "vendor",
                runtime.getVmVendor(),
                "runtime",
                System.getProperty("java.runtime.name", "unknown"));
        out.family("aggregator_build_info", "gauge", "The aggregator build this process runs; always 1.");
        out.sample("aggregator_build_info", 1, "version", VERSION);
    }

    private static void process(PrometheusText out) {
        RuntimeMXBean runtime = ManagementFactory.getRuntimeMXBean();
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun && sun.getProcessCpuTime() >= 0) {
            out.family("process_cpu_seconds_total", "counter", "CPU time the process has used, user and system.");
            out.sample("process_cpu_seconds_total", sun.getProcessCpuTime() / 1e9);
        }
        out.family("process_start_time_seconds", "gauge", "When the process started, in seconds since the epoch.");
        out.sample("process_start_time_seconds", runtime.getStartTime() / 1e3);
        out.family("process_uptime_seconds", "gauge", "How long the process has been running.");
        out.sample("process_uptime_seconds", runtime.getUptime() / 1e3);
        if (os instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            out.family("process_open_fds", "gauge", "Open file descriptors (files, sockets, pipes).");
            out.sample("process_open_fds", unix.getOpenFileDescriptorCount());
            out.family("process_max_fds", "gauge", "The process' limit of open file descriptors.");
            out.sample("process_max_fds", unix.getMaxFileDescriptorCount());
        }
        long[] memory = residentAndVirtual();
        if (memory != null) {
            out.family("process_resident_memory_bytes", "gauge", "Memory the process holds in RAM (RSS).");
            out.sample("process_resident_memory_bytes", memory[0]);
            out.family("process_virtual_memory_bytes", "gauge", "The process' virtual memory size.");
            out.sample("process_virtual_memory_bytes", memory[1]);
        }
    }

    private static void memory(PrometheusText out) {
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        MemoryUsage nonHeap = ManagementFactory.getMemoryMXBean().getNonHeapMemoryUsage();
        out.family("jvm_memory_used_bytes", "gauge", "JVM memory in use, by area (heap, nonheap).");
        out.sample("jvm_memory_used_bytes", heap.getUsed(), "area", "heap");
        out.sample("jvm_memory_used_bytes", nonHeap.getUsed(), "area", "nonheap");
        out.family("jvm_memory_committed_bytes", "gauge", "JVM memory the OS has committed, by area.");
        out.sample("jvm_memory_committed_bytes", heap.getCommitted(), "area", "heap");
        out.sample("jvm_memory_committed_bytes", nonHeap.getCommitted(), "area", "nonheap");
        out.family("jvm_memory_max_bytes", "gauge", "The most JVM memory an area may use (-1: no limit).");
        out.sample("jvm_memory_max_bytes", heap.getMax(), "area", "heap");
        out.sample("jvm_memory_max_bytes", nonHeap.getMax(), "area", "nonheap");
        List<MemoryPoolMXBean> pools = ManagementFactory.getMemoryPoolMXBeans();
        out.family("jvm_memory_pool_used_bytes", "gauge", "JVM memory in use, by pool.");
        for (MemoryPoolMXBean p : pools) {
            out.sample("jvm_memory_pool_used_bytes", p.getUsage().getUsed(), "pool", p.getName());
        }
        out.family("jvm_memory_pool_max_bytes", "gauge", "The most JVM memory a pool may use (-1: no limit).");
        for (MemoryPoolMXBean p : pools) {
            out.sample("jvm_memory_pool_max_bytes", p.getUsage().getMax(), "pool", p.getName());
        }
    }

    private static void gc(PrometheusText out) {
        out.family("jvm_gc_collection_seconds", "summary", "Time spent in garbage collections, by collector.");
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            out.sample("jvm_gc_collection_seconds_count", Math.max(0, gc.getCollectionCount()), "gc", gc.getName());
            out.sample("jvm_gc_collection_seconds_sum", Math.max(0, gc.getCollectionTime()) / 1e3, "gc", gc.getName());
        }
    }

    private static void threads(PrometheusText out) {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        out.family("jvm_threads_current", "gauge", "Live platform threads (virtual threads are not counted).");
        out.sample("jvm_threads_current", threads.getThreadCount());
        out.family("jvm_threads_daemon", "gauge", "Live platform daemon threads.");
        out.sample("jvm_threads_daemon", threads.getDaemonThreadCount());
        out.family("jvm_threads_peak", "gauge", "The most live platform threads since the JVM started.");
        out.sample("jvm_threads_peak", threads.getPeakThreadCount());
        out.family("jvm_threads_started_total", "counter", "Platform threads started since the JVM started.");
        out.sample("jvm_threads_started_total", threads.getTotalStartedThreadCount());
    }

    /** {@code VmRSS} and {@code VmSize} of /proc/self/status in bytes, or null off Linux. */
    private static long[] residentAndVirtual() {
        long rss = -1;
        long size = -1;
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith("VmRSS:")) {
                    rss = kibibytes(line);
                } else if (line.startsWith("VmSize:")) {
                    size = kibibytes(line);
                }
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return rss < 0 || size < 0 ? null : new long[] {rss, size};
    }

    /** {@code "VmRSS:	  123456 kB"} → 123456 × 1024. */
    private static long kibibytes(String line) {
        String[] parts = line.substring(line.indexOf(':') + 1).trim().split("\\s+");
        return Long.parseLong(parts[0]) * 1024;
    }

    private static String buildVersion() {
        try (InputStream in = RuntimeMetrics.class.getResourceAsStream(BUILD_PROPERTIES)) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            String v = p.getProperty("version", "");
            return v.isBlank() || v.startsWith("${") ? "unknown" : v;
        } catch (IOException e) {
            return "unknown";
        }
    }
}
