package dev.sheaf.bench.report;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/*
 * Implementation notes.
 *
 * Turns the README's opening paragraph and its "How it works" section into the Javadoc site's
 * overview page, so the two cannot drift. It knows the Markdown that section uses and nothing
 * more: fenced blocks (to <pre>), "- " lists (continuation lines indented), "### " subheadings,
 * paragraphs, and inline `code`, **bold** and [text](link); a relative link keeps its text only
 * (the site has no copy of the repository's files). Text is HTML-escaped before inline markup is
 * applied, so doclint sees well-formed HTML. Headings: doclint counts the overview's own from h1,
 * so the section title is an h1 and its subheadings h2.
 *
 * Map: section; html; intro; inline.
 */
/** The Javadoc overview page, generated from one section of the README. */
public final class OverviewPage {

    /** The README heading whose section becomes the overview. */
    public static final String SECTION = "## How it works";

    private static final Pattern CODE = Pattern.compile("`([^`]+)`");
    private static final Pattern BOLD = Pattern.compile("\\*\\*([^*]+)\\*\\*");
    private static final Pattern LINK = Pattern.compile("\\[([^]]+)]\\(([^)]+)\\)");

    private OverviewPage() {
    }

    /**
     * The section's lines, heading excluded, up to the next {@code ## } heading.
     *
     * @param readme the README's text
     * @return the section's Markdown
     * @throws IllegalArgumentException the README has no such section
     */
    public static String section(String readme) {
        List<String> lines = readme.lines().toList();
        int start = lines.indexOf(SECTION);
        if (start < 0) {
            throw new IllegalArgumentException("README has no '" + SECTION + "' section");
        }
        StringBuilder sb = new StringBuilder();
        boolean fenced = false;
        for (int i = start + 1; i < lines.size(); i++) {
            String l = lines.get(i);
            if (l.startsWith("```")) {
                fenced = !fenced;
            }
            if (!fenced && l.startsWith("## ")) {
                break;
            }
            sb.append(l).append('\n');
        }
        return sb.toString().strip() + "\n";
    }

    /**
     * The overview page: a whole HTML document whose body is the README section.
     *
     * @param readme the README's text
     * @return the HTML, ending with a newline
     * @throws IllegalArgumentException the README has no such section
     */
    public static String html(String readme) {
        StringBuilder sb = new StringBuilder();
        sb.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head><title>Sheaf</title></head>\n<body>\n");
        sb.append("<!-- generated from README.md's \"How it works\" by dev.sheaf.bench.report.ReadmeResults;")
                .append(" do not edit -->\n");
        sb.append("<p>").append(inline(intro(readme))).append("</p>\n");
        sb.append("<h1>How it works</h1>\n");
        List<String> lines = section(readme).lines().toList();
        StringBuilder paragraph = new StringBuilder();
        boolean inList = false;
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            if (l.startsWith("```")) {
                flush(sb, paragraph);
                inList = closeList(sb, inList);
                sb.append("<pre>");
                for (i++; i < lines.size() && !lines.get(i).startsWith("```"); i++) {
                    sb.append(escape(lines.get(i))).append('\n');
                }
                sb.append("</pre>\n");
            } else if (l.isBlank()) {
                flush(sb, paragraph);
                inList = closeList(sb, inList);
            } else if (l.startsWith("### ")) {
                flush(sb, paragraph);
                inList = closeList(sb, inList);
                sb.append("<h2>").append(inline(l.substring(4))).append("</h2>\n");
            } else if (l.startsWith("- ")) {
                flush(sb, paragraph);
                if (!inList) {
                    sb.append("<ul>\n");
                    inList = true;
                }
                StringBuilder item = new StringBuilder(l.substring(2));
                while (i + 1 < lines.size() && lines.get(i + 1).startsWith("  ")) {
                    item.append(' ').append(lines.get(++i).strip());
                }
                sb.append("<li>").append(inline(item.toString())).append("</li>\n");
            } else {
                paragraph.append(paragraph.isEmpty() ? "" : " ").append(l.strip());
            }
        }
        flush(sb, paragraph);
        closeList(sb, inList);
        sb.append("</body>\n</html>\n");
        return sb.toString();
    }

    /** The README's opening paragraph: the lines after its title, up to the first blank line. */
    private static String intro(String readme) {
        List<String> lines = readme.lines().toList();
        StringBuilder sb = new StringBuilder();
        int i = 0;
        while (i < lines.size() && !lines.get(i).startsWith("# ")) {
            i++;
        }
        for (i += 2; i < lines.size() && !lines.get(i).isBlank(); i++) {
            sb.append(sb.isEmpty() ? "" : " ").append(lines.get(i).strip());
        }
        return sb.toString();
    }

    private static void flush(StringBuilder sb, StringBuilder paragraph) {
        if (!paragraph.isEmpty()) {
            sb.append("<p>").append(inline(paragraph.toString())).append("</p>\n");
            paragraph.setLength(0);
        }
    }

    private static boolean closeList(StringBuilder sb, boolean inList) {
        if (inList) {
            sb.append("</ul>\n");
        }
        return false;
    }

    private static String inline(String markdown) {
        String s = escape(markdown);
        s = CODE.matcher(s).replaceAll(m -> Matcher.quoteReplacement("<code>" + m.group(1) + "</code>"));
        s = BOLD.matcher(s).replaceAll(m -> Matcher.quoteReplacement("<b>" + m.group(1) + "</b>"));
        s = LINK.matcher(s).replaceAll(m -> Matcher.quoteReplacement(m.group(2).startsWith("http")
                ? "<a href=\"" + m.group(2) + "\">" + m.group(1) + "</a>" : m.group(1)));
        return s;
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
