#!/bin/bash
# Interleaved rounds: this change (exact and cheap checks, with the native peers) and the landed jar.
J=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
OUT=/work/main/jmh-results/object-state
for r in 1 2 3; do
  $J --enable-native-access=ALL-UNNAMED -jar bench/target/benchmarks.jar 'AllocatorBenchmark\.(pair|burst)' \
    -p peer=sheaf-cache,sheaf-cache-cheap,sheaf-malloc,glibc,mimalloc,tcmalloc -p burst=100 \
    -f 1 -wi 3 -w 1s -i 5 -r 1s -prof gc -rf json -rff $OUT/exact-vs-cheap-r$r.json > /tmp/ab2-new-r$r.log 2>&1
  $J --enable-native-access=ALL-UNNAMED -jar /tmp/bench-landed.jar 'AllocatorBenchmark\.(pair|burst)' \
    -p peer=sheaf-cache,sheaf-malloc,glibc,mimalloc,tcmalloc -p burst=100 \
    -f 1 -wi 3 -w 1s -i 5 -r 1s -prof gc -rf json -rff $OUT/landed-e319907-r$r.json > /tmp/ab2-old-r$r.log 2>&1
done
echo done
