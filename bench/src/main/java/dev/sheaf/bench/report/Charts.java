package dev.sheaf.bench.report;

import dev.sheaf.bench.harness.WorkloadResult;
import dev.sheaf.bench.peer.Peers;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.List;
import org.HdrHistogram.Histogram;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.labels.ItemLabelAnchor;
import org.jfree.chart.labels.ItemLabelPosition;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.LineAndShapeRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;

/** PNG charts of a {@link Comparison}, drawn headless with JFreeChart. */
public final class Charts {
    private static final int WIDTH = 1100;
    private static final int HEIGHT = 620;
    /** One colour per peer, Sheaf's two in greens so they stand out. */
    private static final Color[] PALETTE = {new Color(0x1b7837), new Color(0x5aae61), new Color(0x2166ac),
            new Color(0x9970ab), new Color(0xe08214), new Color(0xb2182b), new Color(0xd6604d), new Color(0x878787),
            new Color(0x4393c3), new Color(0x35978f)};

    private Charts() {
    }

    /** Writes the charts into {@code dir}; returns their file names. */
    public static List<String> write(Comparison c, Path dir, String prefix) throws IOException {
        System.setProperty("java.awt.headless", "true");
        Files.createDirectories(dir);
        List<String> names = new ArrayList<>();
        List<String> peers = c.peers();

        DefaultCategoryDataset jmh = new DefaultCategoryDataset();
        for (String p : peers) {
            add(jmh, c.jmhNanos("pair", p), p, "alloc+free pair");
            add(jmh, c.jmhNanos("burst", p), p, "burst (per object)");
            add(jmh, c.jmhNanos("pc", p), p, "producer/consumer (per object)");
        }
        if (jmh.getRowCount() > 0) {
            names.add(save(bars("JMH: nanoseconds per object, 64 B (lower is better, log scale)", "ns", jmh),
                    dir, prefix + "-jmh-ns.png"));
        }

        DefaultCategoryDataset nettyAlloc = new DefaultCategoryDataset();
        for (JmhRow r : c.nettyAllocatorRows()) {
            nettyAlloc.addValue(r.nanos(), r.peer(), r.benchmark().substring(JmhRow.NETTY_ALLOC.length()) + " B");
        }
        if (nettyAlloc.getRowCount() > 0) {
            names.add(save(bars("Netty ByteBuf allocate+release through ByteBufAllocator, ns (lower is better, log scale)",
                    "ns", nettyAlloc), dir, prefix + "-netty-alloc.png"));
        }

        DefaultCategoryDataset tput = new DefaultCategoryDataset();
        for (String p : peers) {
            for (String w : Comparison.THROUGHPUT_WORKLOADS) {
                WorkloadResult r = c.harness(w, p);
                if (r != null) {
                    tput.addValue(r.opsPerSecond() / 1e6, p, w);
                }
            }
        }
        if (tput.getRowCount() > 0) {
            names.add(save(bars("Harness throughput: million operations per second (higher is better, log scale)",
                    "Mops/s", tput), dir, prefix + "-harness-throughput.png"));
        }

        for (String op : List.of("alloc", "free")) {
            DefaultCategoryDataset lat = new DefaultCategoryDataset();
            for (WorkloadResult r : c.harness()) {
                Histogram h = r.workload().equals("latency") ? r.histograms().get(op) : null;
                if (h == null) {
                    continue;
                }
                for (double pct : new double[] {50, 90, 99, 99.9, 99.99}) {
                    lat.addValue(Math.max(h.getValueAtPercentile(pct), 1) / 1000.0, r.peer(), "p" + trim(pct));
                }
                lat.addValue(Math.max(h.getMaxValue(), 1) / 1000.0, r.peer(), "max");
            }
            if (lat.getRowCount() > 0) {
                names.add(save(lines("Latency-thread " + op + " latency under a deferred-free flood (us, log scale)",
                        "microseconds", lat), dir, prefix + "-latency-" + op + ".png"));
            }
        }
        DefaultCategoryDataset cache = new DefaultCategoryDataset();
        for (WorkloadResult r : c.harness()) {
            if (r.workload().equals("offheap-cache")) {
                cache.addValue(r.figures().get("getsPerSecond") / 1e6, r.peer(), "gets (Mops/s, readers)");
                cache.addValue(r.figures().get("putsPerSecond") / 1e6, r.peer(), "puts (Mops/s, writer)");
                Histogram h = r.histograms().get("get");
                if (h != null) {
                    cache.addValue(h.getValueAtPercentile(99) / 1000.0, r.peer(), "get p99 (us)");
                }
            }
        }
        if (cache.getRowCount() > 0) {
            names.add(save(bars("Off-heap cache: RCU map vs reference-counted map vs ConcurrentHashMap (log scale)",
                    "value", cache), dir, prefix + "-offheap-cache.png"));
        }
        return names;
    }

    private static void add(DefaultCategoryDataset d, Double v, String series, String category) {
        if (v != null) {
            d.addValue(v, series, category);
        }
    }

    private static String trim(double p) {
        return p == Math.rint(p) ? String.valueOf((int) p) : String.valueOf(p);
    }

    private static JFreeChart bars(String title, String axis, DefaultCategoryDataset data) {
        JFreeChart chart = ChartFactory.createBarChart(title, null, axis, data, PlotOrientation.VERTICAL, true, false, false);
        CategoryPlot plot = chart.getCategoryPlot();
        plot.setRangeAxis(logAxis(axis, data));
        BarRenderer r = (BarRenderer) plot.getRenderer();
        r.setIncludeBaseInRange(false);
        r.setBarPainter(new StandardBarPainter());
        r.setShadowVisible(false);
        r.setItemMargin(0.02);
        r.setDefaultItemLabelsVisible(true);
        r.setDefaultItemLabelGenerator(new StandardCategoryItemLabelGenerator("{2}",
                new DecimalFormat("#,##0.##")));
        r.setDefaultItemLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 9));
        r.setDefaultPositiveItemLabelPosition(new ItemLabelPosition(ItemLabelAnchor.OUTSIDE12,
                TextAnchor.BOTTOM_CENTER));
        for (int i = 0; i < data.getRowCount(); i++) {
            r.setSeriesPaint(i, colour(String.valueOf(data.getRowKey(i))));
        }
        style(chart, plot);
        return chart;
    }

    private static JFreeChart lines(String title, String axis, DefaultCategoryDataset data) {
        JFreeChart chart = ChartFactory.createLineChart(title, "percentile", axis, data, PlotOrientation.VERTICAL, true,
                false, false);
        CategoryPlot plot = chart.getCategoryPlot();
        plot.setRangeAxis(logAxis(axis, data));
        LineAndShapeRenderer r = (LineAndShapeRenderer) plot.getRenderer();
        r.setDefaultShapesVisible(true);
        for (int i = 0; i < data.getRowCount(); i++) {
            r.setSeriesPaint(i, colour(String.valueOf(data.getRowKey(i))));
            r.setSeriesStroke(i, new BasicStroke(2.2f));
        }
        style(chart, plot);
        return chart;
    }

    /** A peer keeps its colour in every chart; Sheaf's rows are the greens. */
    private static Color colour(String peer) {
        int i = switch (peer) {
            case "sheaf-rcu-map" -> 0;
            case "sheaf-refcount-map" -> 1;
            case "heap-chm" -> 2;
            default -> Peers.ALL.indexOf(peer);
        };
        return PALETTE[(i < 0 ? Peers.ALL.size() + Math.floorMod(peer.hashCode(), 2) : i) % PALETTE.length];
    }

    /** Decades on a log scale, range fitted to the data with some headroom. */
    private static LogAxis logAxis(String label, DefaultCategoryDataset data) {
        double min = Double.MAX_VALUE;
        double max = 0;
        for (int r = 0; r < data.getRowCount(); r++) {
            for (int c = 0; c < data.getColumnCount(); c++) {
                Number n = data.getValue(r, c);
                if (n != null && n.doubleValue() > 0) {
                    min = Math.min(min, n.doubleValue());
                    max = Math.max(max, n.doubleValue());
                }
            }
        }
        LogAxis axis = new LogAxis(label);
        axis.setBase(10);
        axis.setTickUnit(new NumberTickUnit(1));
        axis.setMinorTickMarksVisible(true);
        axis.setNumberFormatOverride(new DecimalFormat("#,##0.###"));
        if (max > 0) {
            axis.setRange(Math.pow(10, Math.floor(Math.log10(min / 1.5))), Math.pow(10, Math.ceil(Math.log10(max * 2))));
        }
        return axis;
    }

    private static void style(JFreeChart chart, CategoryPlot plot) {
        chart.setBackgroundPaint(Color.WHITE);
        chart.getTitle().setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(new Color(0xcccccc));
        plot.setRangeGridlinesVisible(true);
        plot.getDomainAxis().setCategoryLabelPositions(CategoryLabelPositions.STANDARD);
        plot.getDomainAxis().setTickLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    }

    private static String save(JFreeChart chart, Path dir, String name) throws IOException {
        ChartUtils.saveChartAsPNG(dir.resolve(name).toFile(), chart, WIDTH, HEIGHT);
        return name;
    }
}
