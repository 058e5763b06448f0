package dev.sheaf.bench.netty;

import dev.sheaf.allocator.SlabAllocator;
import dev.sheaf.bench.peer.NettyPeer;
import dev.sheaf.netty.SheafByteBufAllocator;
import dev.sheaf.netty.SheafEventLoopThreads;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.util.ResourceLeakDetector;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * Loopback echo over Netty's NIO transport, one allocator per run on both sides
 * ({@code ChannelOption.ALLOCATOR}): messages per second and round-trip latency (HdrHistogram) for
 * Sheaf's {@link SheafByteBufAllocator}, Netty pooled and Netty adaptive. Length-framed messages
 * carry their send time; the client keeps {@code window} messages in flight. One server and one
 * client event loop thread, the same thread class for every allocator; allocators interleave round
 * by round; the JSON has every run.
 *
 * <p>Arguments: {@code seconds=3 warmup=1 rounds=3 sizes=256,16384 windows=1,32 out=PATH.json}.
 * Run with {@code --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow}.
 */
public final class NettyEchoHarness {

    private static final List<String> ALLOCATORS = List.of("sheaf", "netty-pooled", "netty-adaptive");

    private NettyEchoHarness() {
    }

    /** One run's figures. */
    record Run(String allocator, int size, int window, int round, long messages, double seconds,
               double messagesPerSecond, double p50Micros, double p99Micros, double p999Micros, double maxMicros) {
    }

    /**
     * Runs every allocator, size and window for the given rounds and writes the JSON.
     *
     * @param args {@code key=value} settings (see the class comment)
     * @throws Exception if a run fails
     */
    public static void main(String[] args) throws Exception {
        double seconds = 3;
        double warmup = 1;
        int rounds = 3;
        int[] sizes = {256, 16384};
        int[] windows = {1, 32};
        Path out = null;
        for (String a : args) {
            String[] kv = a.split("=", 2);
            switch (kv[0]) {
                case "seconds" -> seconds = Double.parseDouble(kv[1]);
                case "warmup" -> warmup = Double.parseDouble(kv[1]);
                case "rounds" -> rounds = Integer.parseInt(kv[1]);
                case "sizes" -> sizes = Arrays.stream(kv[1].split(",")).mapToInt(Integer::parseInt).toArray();
                case "windows" -> windows = Arrays.stream(kv[1].split(",")).mapToInt(Integer::parseInt).toArray();
                case "out" -> out = Path.of(kv[1]);
                default -> throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        List<Run> runs = new ArrayList<>();
        for (int size : sizes) {
            for (int window : windows) {
                for (int round = 1; round <= rounds; round++) {
                    for (String alloc : ALLOCATORS) {
                        Run r = run(alloc, size, window, round, warmup, seconds);
                        runs.add(r);
                        System.out.printf(Locale.ROOT, "%-15s size %6d window %3d round %d: %,12.0f msg/s  p50 %8.1f us  p99 %8.1f us%n",
                                alloc, size, window, round, r.messagesPerSecond(), r.p50Micros(), r.p99Micros());
                    }
                }
            }
        }
        System.out.println();
        System.out.println("Medians over rounds:");
        for (int size : sizes) {
            for (int window : windows) {
                for (String alloc : ALLOCATORS) {
                    List<Run> rs = runs.stream().filter(r -> r.allocator().equals(alloc) && r.size() == size
                            && r.window() == window).toList();
                    System.out.printf(Locale.ROOT, "%-15s size %6d window %3d: %,12.0f msg/s  p50 %8.1f us  p99 %8.1f us%n",
                            alloc, size, window, median(rs.stream().mapToDouble(Run::messagesPerSecond).toArray()),
                            median(rs.stream().mapToDouble(Run::p50Micros).toArray()),
                            median(rs.stream().mapToDouble(Run::p99Micros).toArray()));
                }
            }
        }
        if (out != null) {
            write(out, runs);
        }
    }

    private static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    private static void write(Path out, List<Run> runs) throws IOException {
        StringBuilder sb = new StringBuilder("[\n");
        for (int i = 0; i < runs.size(); i++) {
            Run r = runs.get(i);
            sb.append(String.format(Locale.ROOT, "  {\"allocator\": \"%s\", \"size\": %d, \"window\": %d, \"round\": %d, "
                            + "\"messages\": %d, \"seconds\": %.3f, \"messagesPerSecond\": %.1f, \"p50Micros\": %.2f, "
                            + "\"p99Micros\": %.2f, \"p999Micros\": %.2f, \"maxMicros\": %.2f}%s%n",
                    r.allocator(), r.size(), r.window(), r.round(), r.messages(), r.seconds(), r.messagesPerSecond(),
                    r.p50Micros(), r.p99Micros(), r.p999Micros(), r.maxMicros(), i + 1 < runs.size() ? "," : ""));
        }
        sb.append("]\n");
        if (out.getParent() != null) {
            Files.createDirectories(out.getParent());
        }
        Files.writeString(out, sb.toString());
    }

    private static Run run(String name, int size, int window, int round, double warmup, double seconds)
            throws Exception {
        SlabAllocator sheaf = name.equals("sheaf") ? SlabAllocator.create() : null;
        ByteBufAllocator alloc = sheaf != null ? SheafByteBufAllocator.create(sheaf) : NettyPeer.nettyAllocator(name);
        EventLoopGroup serverGroup = new MultiThreadIoEventLoopGroup(1, SheafEventLoopThreads.factory("echo-server-", true),
                NioIoHandler.newFactory());
        EventLoopGroup clientGroup = new MultiThreadIoEventLoopGroup(1, SheafEventLoopThreads.factory("echo-client-", true),
                NioIoHandler.newFactory());
        try {
            Channel server = new ServerBootstrap().group(serverGroup).channel(NioServerSocketChannel.class)
                    .option(ChannelOption.ALLOCATOR, alloc).childOption(ChannelOption.ALLOCATOR, alloc)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new LengthFieldBasedFrameDecoder(1 << 24, 0, 4, 0, 0),
                                    new SimpleChannelInboundHandler<ByteBuf>(false) {
                                        @Override
                                        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
                                            ctx.writeAndFlush(frame);
                                        }
                                    });
                        }
                    }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            long warmupNanos = (long) (warmup * 1e9);
            long measureNanos = (long) (seconds * 1e9);
            Client client = new Client(size, window, warmupNanos, measureNanos);
            Channel ch = new Bootstrap().group(clientGroup).channel(NioSocketChannel.class)
                    .option(ChannelOption.ALLOCATOR, alloc).option(ChannelOption.TCP_NODELAY, true)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            c.pipeline().addLast(new LengthFieldBasedFrameDecoder(1 << 24, 0, 4, 0, 0), client);
                        }
                    }).connect(server.localAddress()).sync().channel();
            client.done.get((long) (warmup + seconds) + 60, TimeUnit.SECONDS);
            ch.close().sync();
            server.close().sync();
            if (sheaf != null) {
                SlabAllocator.Stats st = sheaf.stats();
                System.out.printf(Locale.ROOT, "  sheaf: madvised %,d bytes, peak reserved %,d bytes%n",
                        st.madvisedBytes(), st.peakReservedBytes());
            }
            Histogram h = client.histogram;
            double secs = client.measuredNanos / 1e9;
            return new Run(name, size, window, round, client.measured, secs, client.measured / secs,
                    h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3,
                    h.getValueAtPercentile(99.9) / 1e3, h.getMaxValue() / 1e3);
        } finally {
            clientGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
            serverGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
            if (sheaf != null) {
                sheaf.close();
            }
        }
    }

    /** Keeps window messages in flight until the measured time is over, then drains. */
    private static final class Client extends SimpleChannelInboundHandler<ByteBuf> {
        final Histogram histogram = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        final CompletableFuture<Void> done = new CompletableFuture<>();
        private final int size;
        private final int window;
        private final long warmupNanos;
        private final long measureNanos;
        private long start;
        private long measureStart;
        private long measureEnd;
        private boolean stopped;
        private int inFlight;
        long measured;
        long measuredNanos;

        Client(int size, int window, long warmupNanos, long measureNanos) {
            this.size = Math.max(size, 8);
            this.window = window;
            this.warmupNanos = warmupNanos;
            this.measureNanos = measureNanos;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            start = System.nanoTime();
            measureStart = start + warmupNanos;
            measureEnd = measureStart + measureNanos;
            for (int i = 0; i < window; i++) {
                send(ctx);
            }
            ctx.flush();
        }

        private void send(ChannelHandlerContext ctx) {
            ByteBuf msg = ctx.alloc().directBuffer(4 + size);
            msg.writeInt(size).writeLong(System.nanoTime()).writeZero(size - 8);
            inFlight++;
            ctx.write(msg);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
            long now = System.nanoTime();
            long sent = frame.getLong(4);
            inFlight--;
            if (sent >= measureStart && now < measureEnd) {
                histogram.recordValue(Math.min(now - sent, histogram.getHighestTrackableValue()));
                measured++;
            }
            if (now < measureEnd) {
                send(ctx);
                ctx.flush();
            } else if (!stopped) {
                stopped = true;
                measuredNanos = measureEnd - measureStart;
            }
            if (stopped && inFlight == 0) {
                done.complete(null);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            done.completeExceptionally(cause);
            ctx.close();
        }
    }
}
