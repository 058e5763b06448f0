package dev.sheaf.bench.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/*
 * Implementation notes.
 *
 * The README's recipes are compiled examples (bench/src/test/java/dev/sheaf/examples, run by
 * ExamplesTest). A README code block marked with the line "<!-- example: Class [region] -->" just
 * before its ```java fence is the region of Class.java between the lines "// example:begin [region]"
 * and "// example:end [region]", with the region's common indentation removed (String.stripIndent).
 * sync() rewrites every marked block from its source; unmarked blocks are left alone.
 *
 * Map: marker; sync; region.
 */
/** Copies the README's recipe code blocks from the example sources they are marked with. */
public final class ExampleBlocks {

    /** Where the examples live, relative to the repository root. */
    public static final String EXAMPLES = "bench/src/test/java/dev/sheaf/examples/";

    private static final Pattern MARKED_BLOCK = Pattern.compile(
            "(<!-- example: (\\w+)(?: (\\w+))? -->\\n```java\\n)(.*?)(```)", Pattern.DOTALL);

    private ExampleBlocks() {
    }

    /**
     * The README with every marked block replaced by its example region.
     *
     * @param readme the README's text
     * @param root   the repository root
     * @return the README with current blocks
     * @throws IOException an example source is missing or unreadable
     * @throws IllegalArgumentException a source lacks the marked region
     */
    public static String sync(String readme, Path root) throws IOException {
        Matcher m = MARKED_BLOCK.matcher(readme);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            Path source = root.resolve(EXAMPLES + m.group(2) + ".java");
            String code = region(Files.readString(source, StandardCharsets.UTF_8), m.group(3) == null ? "" : m.group(3));
            m.appendReplacement(sb, Matcher.quoteReplacement(m.group(1) + code + m.group(5)));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    /**
     * The lines between {@code // example:begin name} and {@code // example:end name}, common
     * indentation removed, each ending with a newline.
     *
     * @param source the example's source text
     * @param name   the region's name, empty for the unnamed region
     * @return the region's code
     * @throws IllegalArgumentException the source has no such region
     */
    public static String region(String source, String name) {
        String begin = ("// example:begin " + name).strip();
        String end = ("// example:end " + name).strip();
        List<String> lines = source.lines().toList();
        int b = -1;
        int e = -1;
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i).strip();
            if (l.equals(begin) && b < 0) {
                b = i;
            } else if (l.equals(end) && b >= 0 && e < 0) {
                e = i;
            }
        }
        if (b < 0 || e < 0) {
            throw new IllegalArgumentException("no example region '" + name + "' (lines '" + begin + "' and '" + end + "')");
        }
        return String.join("\n", lines.subList(b + 1, e)).stripIndent() + "\n";
    }
}
