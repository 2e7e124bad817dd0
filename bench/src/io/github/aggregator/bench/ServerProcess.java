package io.github.aggregator.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A server the side-by-side benchmark starts that is not a JVM (node, nginx). RSS and CPU are summed over the process
 * and its children (nginx's worker). Its pid is appended to the file the calling script stops on exit. Linux only.
 */
final class ServerProcess implements AutoCloseable {
    private final Process process;

    /** Starts {@code command}; stdout and stderr go to {@code log}; the pid is appended to {@code pids}. */
    ServerProcess(List<String> command, Path log, Path pids) throws IOException {
        this.process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        Files.writeString(pids, process.pid() + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    boolean alive() {
        return process.isAlive();
    }

    /** The process and its descendants. */
    List<Long> pids() {
        List<Long> out = new ArrayList<>(List.of(process.pid()));
        process.descendants().forEach(p -> out.add(p.pid()));
        return out;
    }

    /** Resident set size of the process and its descendants, in KiB. */
    long rssKb() throws IOException {
        long sum = 0;
        for (long pid : pids()) {
            sum += rssKb(pid);
        }
        return sum;
    }

    /** User + system CPU of the process and its descendants so far, in milliseconds. */
    long cpuMillis() throws IOException {
        return cpu(c -> c[0] + c[1]);
    }

    /** System (kernel) CPU of the process and its descendants so far, in milliseconds. */
    long systemMillis() throws IOException {
        return cpu(c -> c[1]);
    }

    /** {@code part} of each process's {user, system} CPU milliseconds, summed over the process and its descendants. */
    private long cpu(java.util.function.ToLongFunction<long[]> part) throws IOException {
        long sum = 0;
        for (long pid : pids()) {
            sum += part.applyAsLong(JvmProcess.cpuMillis(pid));
        }
        return sum;
    }

    static long rssKb(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.substring(6).trim().split("\\s+")[0]);
            }
        }
        return 0;
    }

    /** SIGTERM, then SIGKILL after 10 s. */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
        }
    }
}
