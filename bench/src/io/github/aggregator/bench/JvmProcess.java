package io.github.aggregator.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A JVM started by the benchmark (the service, the bare server), with what the benchmark reads about it from {@code
 * /proc} and {@code jcmd}. Its pid is appended to a file the calling script kills on exit, so nothing outlives the
 * run even when this JVM is killed. Linux only.
 */
final class JvmProcess implements AutoCloseable {
    private static final Pattern HEAP_USED = Pattern.compile("(?m)^\\S.*?, used (\\d+)K");
    private static final long USER_HZ = 100; // clock ticks in /proc/<pid>/stat, fixed by the Linux ABI

    private final String name;
    private final Process process;
    private final Path log;
    private int gcs;

    /**
     * Starts {@code java OPTIONS ARGS} with the running JDK; stdout and stderr go to {@code log}.
     *
     * @param pids file the pid is appended to
     */
    JvmProcess(String name, List<String> options, List<String> args, Map<String, String> env, Path log, Path pids)
            throws IOException {
        this.name = name;
        this.log = log;
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(options);
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        this.process = pb.start();
        Files.writeString(pids, process.pid() + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    /** Resident set size from {@code /proc/<pid>/status}, in KiB. */
    long rssKb() throws IOException {
        return statusField("VmRSS");
    }

    /** Peak resident set size so far ({@code VmHWM}), in KiB. */
    long peakRssKb() throws IOException {
        return statusField("VmHWM");
    }

    /** Platform (kernel) threads of the process. */
    long threads() throws IOException {
        return statusField("Threads");
    }

    private long statusField(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.substring(field.length() + 1).trim().split("\\s+")[0]);
            }
        }
        throw new IOException(field + " not in /proc/" + pid() + "/status");
    }

    /** Write-like system calls ({@code syscw} of {@code /proc/<pid>/io}: write, send, writev...) so far. */
    long writeCalls() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "io"))) {
            if (line.startsWith("syscw:")) {
                return Long.parseLong(line.substring(6).trim());
            }
        }
        throw new IOException("syscw not in /proc/" + pid() + "/io");
    }

    /** User and system CPU time of process {@code pid} (all its threads) so far, in milliseconds: {user, system}. */
    static long[] cpuMillis(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        // fields after the parenthesised command name; utime and stime are fields 14 and 15 of the whole line
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return new long[] {Long.parseLong(f[11]) * 1000 / USER_HZ, Long.parseLong(f[12]) * 1000 / USER_HZ};
    }

    /**
     * A full GC through {@code jcmd GC.run}, then a pause for the memory to settle. With {@code BENCH_HISTOGRAM} set
     * in the environment, also writes the live objects by class ({@code jcmd GC.class_histogram}) beside the log as
     * {@code <log>.histo-<n>.txt}, n counting this process's GCs from 1.
     */
    void gc() throws IOException, InterruptedException {
        jcmd("GC.run");
        Thread.sleep(1000);
        if (System.getenv("BENCH_HISTOGRAM") != null) {
            Files.writeString(log.resolveSibling(log.getFileName() + ".histo-" + ++gcs + ".txt"),
                    jcmd("GC.class_histogram"));
        }
    }

    /**
     * Java heap in use (after {@link #gc}: live data) from {@code jcmd GC.heap_info}, in KiB: the sum of the "used"
     * figures of its unindented lines (one for G1, one per generation for Serial and Parallel).
     */
    long heapUsedKb() throws IOException, InterruptedException {
        Matcher m = HEAP_USED.matcher(jcmd("GC.heap_info"));
        long used = 0;
        while (m.find()) {
            used += Long.parseLong(m.group(1));
        }
        return used;
    }

    private String jcmd(String command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                        Long.toString(pid()),
                        command)
                .redirectErrorStream(true)
                .start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("jcmd " + command + " on " + name + " failed: " + new String(out));
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    /** Stops the JVM: SIGTERM (its shutdown hooks run), then SIGKILL after 10 s. */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
        }
    }
}
