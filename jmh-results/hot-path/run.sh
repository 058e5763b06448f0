#!/usr/bin/env bash
# Issue 14's measurements: ROUNDS interleaved rounds of the hot-path benchmarks from one jar, each
# round running every group once (pairs with the direct native anchors, the factory-thread pair,
# bursts, freeRcu caller cost, the read side), so that the machine's drift hits every row alike.
# Usage: jmh-results/hot-path/run.sh [JAR] [ROUNDS]   (then summary.py in this directory)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
jar=${1:-bench/target/benchmarks.jar}
rounds=${2:-3}
java=${JAVA25:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}
opts=(-f 1 -wi 2 -w 1s -i 3 -r 1s -prof gc)
for r in $(seq 1 "$rounds"); do
  "$java" --enable-native-access=ALL-UNNAMED -jar "$jar" 'HotPathBenchmark' "${opts[@]}" -rf json -rff "$here/pair-r$r.json"
  "$java" --enable-native-access=ALL-UNNAMED -jar "$jar" 'FactoryThreadBenchmark' "${opts[@]}" -rf json -rff "$here/factory-r$r.json"
  "$java" --enable-native-access=ALL-UNNAMED -jar "$jar" 'HotBurstBenchmark' "${opts[@]}" -rf json -rff "$here/burst-r$r.json"
  "$java" --enable-native-access=ALL-UNNAMED -jar "$jar" 'FreeRcuBenchmark' -p drain=caller,sustained "${opts[@]}" -rf json -rff "$here/free-rcu-r$r.json"
  "$java" --enable-native-access=ALL-UNNAMED -jar "$jar" 'RcuReadBenchmark\.(ebrImplicit|ebrHandle|membImplicit|membHandle|qsbrImplicit|qsbrHandle|stampedLockOptimistic)$' "${opts[@]}" -rf json -rff "$here/rcu-read-r$r.json"
done
python3 "$here/summary.py" "$here" | tee "$here/summary.txt"
