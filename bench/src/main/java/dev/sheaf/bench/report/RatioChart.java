package dev.sheaf.bench.report;

import java.util.List;
import java.util.Locale;

/*
 * Implementation notes.
 *
 * A hand-written SVG (no chart library, no fonts embedded): one horizontal bar per workload whose
 * length is Sheaf's ratio to the best native peer, on a linear axis from 0 to the largest ratio
 * rounded up to a whole number (at least 2), with a dashed line at 1.0x. Bars at or above 1.0x are
 * green, below it orange. Every coordinate is printed with Locale.ROOT and one decimal, so the same
 * rows always give the same bytes (the README check compares them).
 *
 * Map: layout constants; svg; helpers.
 */
/** The README's chart: Sheaf's ratio to the best native peer, one horizontal bar per workload. */
public final class RatioChart {

    private static final int WIDTH = 800;
    private static final int LABEL_WIDTH = 300;
    private static final int ROW_HEIGHT = 24;
    private static final int TOP = 40;
    private static final int BOTTOM = 36;
    private static final int RIGHT = 60;

    private RatioChart() {
    }

    /**
     * The chart as an SVG document.
     *
     * @param rows the summary rows; rows without a ratio are drawn without a bar
     * @return the SVG text, ending with a newline
     */
    public static String svg(List<SummaryRow> rows) {
        double max = 2;
        for (SummaryRow r : rows) {
            if (!Double.isNaN(r.ratio())) {
                max = Math.max(max, Math.ceil(r.ratio()));
            }
        }
        int plotWidth = WIDTH - LABEL_WIDTH - RIGHT;
        int height = TOP + rows.size() * ROW_HEIGHT + BOTTOM;
        StringBuilder sb = new StringBuilder();
        sb.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(WIDTH).append("\" height=\"")
                .append(height).append("\" viewBox=\"0 0 ").append(WIDTH).append(' ').append(height)
                .append("\" font-family=\"sans-serif\" font-size=\"12\">\n");
        sb.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        sb.append("<text x=\"").append(WIDTH / 2).append("\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">")
                .append("Sheaf vs the best native peer (glibc, mimalloc, tcmalloc through FFM): x times better")
                .append("</text>\n");
        for (int tick = 0; tick <= max; tick++) {
            double x = LABEL_WIDTH + plotWidth * tick / max;
            int yEnd = TOP + rows.size() * ROW_HEIGHT;
            sb.append("<line x1=\"").append(f(x)).append("\" y1=\"").append(TOP - 4).append("\" x2=\"").append(f(x))
                    .append("\" y2=\"").append(yEnd).append("\" stroke=\"").append(tick == 1 ? "#333" : "#ddd")
                    .append('"').append(tick == 1 ? " stroke-dasharray=\"4 3\"" : "").append("/>\n");
            sb.append("<text x=\"").append(f(x)).append("\" y=\"").append(yEnd + 16)
                    .append("\" text-anchor=\"middle\">").append(tick).append(".0x</text>\n");
        }
        for (int i = 0; i < rows.size(); i++) {
            SummaryRow r = rows.get(i);
            int y = TOP + i * ROW_HEIGHT;
            sb.append("<text x=\"").append(LABEL_WIDTH - 8).append("\" y=\"").append(y + 16)
                    .append("\" text-anchor=\"end\">").append(escape(r.workload() + " (" + r.unit() + ")"))
                    .append("</text>\n");
            double ratio = r.ratio();
            if (Double.isNaN(ratio)) {
                continue;
            }
            double w = plotWidth * ratio / max;
            sb.append("<rect x=\"").append(LABEL_WIDTH).append("\" y=\"").append(y + 4).append("\" width=\"")
                    .append(f(w)).append("\" height=\"").append(ROW_HEIGHT - 8).append("\" fill=\"")
                    .append(ratio >= 1 ? "#3a8f3a" : "#e08a1e").append("\"/>\n");
            sb.append("<text x=\"").append(f(LABEL_WIDTH + w + 4)).append("\" y=\"").append(y + 16).append("\">")
                    .append(r.ratioText()).append("</text>\n");
        }
        sb.append("</svg>\n");
        return sb.toString();
    }

    private static String f(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
