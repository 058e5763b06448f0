#!/bin/bash
# Issue 17's Netty rows from one benchmarks.jar: three JMH rounds of ByteBuf allocate+release through
# the ByteBufAllocator API (Sheaf, Netty pooled, Netty adaptive at 64 B..64 KiB, -prof gc), then the
# loopback echo harness (three interleaved rounds), then summary.py. Each run holds /tmp/jmh.lock.
# Usage: jmh-results/netty/run.sh JAR   (after ./mvnw -B -q -pl bench -am package -DskipTests)
set -e
JAR=${1:?benchmarks.jar}
cd "$(dirname "$0")/../.."
J=${JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}
for r in 1 2 3; do
  flock /tmp/jmh.lock $J --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -jar "$JAR" \
    NettyAllocatorBenchmark -f 1 -wi 2 -i 3 -r 1s -w 1s -prof gc -rf json -rff jmh-results/netty/allocate-release-r$r.json
done
flock /tmp/jmh.lock $J --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -Xss1m -cp "$JAR" \
  dev.sheaf.bench.netty.NettyEchoHarness seconds=2 warmup=1 rounds=3 sizes=256,16384 windows=1,32 \
  out=jmh-results/netty/echo.json | tee jmh-results/netty/echo.txt
jmh-results/netty/summary.py
