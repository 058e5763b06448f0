package dev.sheaf.allocator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs a {@code main} class of the test classpath in a child JVM (the same {@code java}, the same
 * classpath, the FFM flag of the build) and reports how it ended: a test that may crash the JVM
 * with SIGSEGV or hang must not take the Surefire fork, and with it every later test, along.
 *
 * <p>Exit codes of the child: 0 passed, 1 an assertion or unexpected exception (stack trace in
 * the output), {@value #EXIT_HANG} its own watchdog found it stuck (thread dump in the output);
 * 134 (SIGABRT after a fatal error) or an {@code hs_err} file means the JVM crashed. The parent
 * waits a bounded time and, if the child is still running, asks it for a thread dump (SIGQUIT)
 * and kills it.
 */
final class ChildJvm {

    /** Exit code of a child whose own watchdog found it stuck. */
    static final int EXIT_HANG = 3;

    private static final int TAIL_LINES = 200;

    /** How a child run ended. */
    record Result(String name, int exitCode, boolean timedOut, Duration elapsed, String output, List<Path> hsErr,
                  Path log) {

        boolean crashed() {
            return !hsErr.isEmpty() || exitCode == 134 || exitCode == 139;
        }

        boolean passed() {
            return !timedOut && exitCode == 0 && hsErr.isEmpty();
        }

        /** One line saying how the child ended, then its output's tail and the crash report's head. */
        String describe() {
            StringBuilder sb = new StringBuilder();
            sb.append(name).append(": ");
            if (timedOut) {
                sb.append("HANG - still running after ").append(elapsed.toSeconds())
                        .append(" s, killed (thread dump requested with SIGQUIT, see output)");
            } else if (crashed()) {
                sb.append("CRASH - JVM died with exit code ").append(exitCode)
                        .append(hsErr.isEmpty() ? "" : ", fatal error report " + hsErr.get(0));
            } else if (exitCode == EXIT_HANG) {
                sb.append("HANG - the child's watchdog found it stuck (exit code 3, thread dump in output)");
            } else if (exitCode == 1) {
                sb.append("FAILED - exit code 1 (assertion or unexpected exception)");
            } else {
                sb.append("exit code ").append(exitCode);
            }
            sb.append(" after ").append(elapsed.toMillis()).append(" ms; full log ").append(log).append('\n');
            sb.append("----- child output (last ").append(TAIL_LINES).append(" lines) -----\n");
            sb.append(tail(output, TAIL_LINES));
            for (Path p : hsErr) {
                sb.append("----- ").append(p).append(" (head) -----\n").append(hsErrHead(p));
            }
            return sb.toString();
        }
    }

    private ChildJvm() {
    }

    /**
     * Runs {@code mainClass} with {@code args} in a new JVM and waits at most {@code timeout}.
     * The child's working directory is {@code target/child-jvm/<name>}, where its log and any
     * {@code hs_err} file land. System properties named {@code sheaf.*} are passed on.
     */
    static Result run(String name, Class<?> mainClass, Duration timeout, List<String> extraJvmArgs, String... args) {
        Path dir = Path.of(System.getProperty("sheaf.child.dir", "target/child-jvm")).toAbsolutePath().resolve(name);
        try {
            Files.createDirectories(dir);
            try (Stream<Path> old = Files.list(dir)) {
                for (Path p : old.toList()) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Path log = dir.resolve(name + ".log");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-Xss1m");
        cmd.add("-Xmx512m");
        cmd.add("-XX:ErrorFile=" + dir.resolve("hs_err_pid%p.log"));
        cmd.add("-XX:-CreateCoredumpOnCrash");
        for (String key : System.getProperties().stringPropertyNames()) {
            if (key.startsWith("sheaf.") && !key.equals("sheaf.child.dir")) {
                cmd.add("-D" + key + "=" + System.getProperty(key));
            }
        }
        cmd.addAll(extraJvmArgs);
        cmd.add("-cp");
        cmd.add(classpath());
        cmd.add(mainClass.getName());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        long start = System.nanoTime();
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start child JVM: " + cmd, e);
        }
        boolean timedOut = false;
        int exit;
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                timedOut = true;
                threadDump(p);
                p.destroyForcibly();
                p.waitFor(30, TimeUnit.SECONDS);
            }
            exit = p.isAlive() ? -1 : p.exitValue();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for child JVM " + name, e);
        }
        Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
        String output;
        List<Path> hsErr;
        try {
            output = Files.readString(log, StandardCharsets.UTF_8);
            try (Stream<Path> files = Files.list(dir)) {
                hsErr = files.filter(f -> f.getFileName().toString().startsWith("hs_err")).sorted().toList();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Result(name, exit, timedOut, elapsed, output, hsErr, log);
    }

    /** SIGQUIT makes a HotSpot JVM print every thread's stack to its stdout (our log). */
    private static void threadDump(Process p) throws InterruptedException {
        try {
            Process kill = new ProcessBuilder("kill", "-QUIT", Long.toString(p.pid())).redirectErrorStream(true).start();
            kill.waitFor(5, TimeUnit.SECONDS);
            // Bounded wait for the dump itself: the child exits only when killed, so this waits the full time.
            p.waitFor(2, TimeUnit.SECONDS);
        } catch (IOException e) {
            // no kill(1): no thread dump, the timeout is still reported
        }
    }

    /**
     * The classpath of this test JVM. Surefire's default fork puts only a manifest jar on
     * {@code java.class.path} (its Class-Path names the test classpath), which works as a child's
     * {@code -cp} as well while the fork runs. When Surefire runs the tests on the module path,
     * the main classes and their modules are on {@code jdk.module.path}: the child gets them on
     * its class path too, since it runs everything in the unnamed module (hence ALL-UNNAMED).
     */
    private static String classpath() {
        String cp = System.getProperty("surefire.test.class.path");
        if (cp == null || cp.isBlank()) {
            cp = System.getProperty("java.class.path");
        }
        String mp = System.getProperty("jdk.module.path");
        return mp == null || mp.isBlank() ? cp : cp + java.io.File.pathSeparator + mp;
    }

    static String tail(String s, int lines) {
        String[] all = s.split("\n", -1);
        int from = Math.max(0, all.length - lines);
        StringBuilder sb = new StringBuilder();
        for (int i = from; i < all.length; i++) {
            sb.append(all[i]).append('\n');
        }
        return sb.toString();
    }

    private static String hsErrHead(Path p) {
        try {
            List<String> lines = Files.readAllLines(p, StandardCharsets.ISO_8859_1);
            StringBuilder sb = new StringBuilder();
            int shown = 0;
            boolean inStack = false;
            for (String l : lines) {
                if (shown < 25) {
                    sb.append(l).append('\n');
                    shown++;
                    continue;
                }
                if (l.startsWith("Java frames") || l.startsWith("Native frames")) {
                    inStack = true;
                }
                if (inStack) {
                    if (l.isBlank()) {
                        inStack = false;
                        continue;
                    }
                    sb.append(l).append('\n');
                }
            }
            return sb.toString();
        } catch (IOException e) {
            return "(cannot read " + p + ": " + e + ")\n";
        }
    }
}
