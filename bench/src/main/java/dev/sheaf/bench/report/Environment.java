package dev.sheaf.bench.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;

/** Where and when numbers were measured: recorded next to every result file. */
public record Environment(String cpu, int cores, String os, String jdk, String date) {

    public static Environment current() {
        String cpu = "unknown";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    cpu = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            cpu = System.getProperty("os.arch");
        }
        return new Environment(cpu, Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"),
                System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"),
                Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
    }

    public Map<String, Object> toMap(String command) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpu", cpu);
        m.put("cores", cores);
        m.put("os", os);
        m.put("jdk", jdk);
        m.put("date", date);
        m.put("command", command);
        return m;
    }

    public String oneLine() {
        return cpu + ", " + cores + " cores, " + os + ", " + jdk + ", " + date;
    }
}
