#!/usr/bin/env bash
# Issue 15's measurements: JARS (names under /tmp/bench-NAME.jar, or paths) alternate in ROUNDS
# rounds; each round runs the harness's multi-threaded workloads (each itself 5 rounds interleaved
# across peers) and the single-thread pair and bursts (JMH), so drift hits every jar alike.
# Usage: jmh-results/remote-frees/run.sh ROUNDS JAR...   (then summary.py in this directory)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rounds=$1; shift
java=${JAVA25:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}
jmh=(-f 1 -wi 2 -w 1s -i 3 -r 1s)
for r in $(seq 1 "$rounds"); do
  for j in "$@"; do
    jar=$j; [[ -f $jar ]] || jar=/tmp/bench-$j.jar
    name=$(basename "$j" .jar); name=${name#bench-}
    echo "=== $name round $r $(date +%T)"
    "$java" --enable-native-access=ALL-UNNAMED -cp "$jar" dev.sheaf.bench.harness.Harness \
      cache-scratch,cache-thrash,larson,larson-fresh,xmalloc,producer-consumer,thread-churn \
      seconds=0.5 rounds=5 peers=sheaf-cache,sheaf-malloc,glibc,mimalloc,tcmalloc out="$here/$name-r$r" \
      | grep -v '^results written'
    "$java" --enable-native-access=ALL-UNNAMED -jar "$jar" \
      'HotPathBenchmark.(glibcPair|tcmallocPair|cachePair|localCachePair|mallocPair)$' "${jmh[@]}" \
      -rf json -rff "$here/$name-r$r/pair.json" > "$here/$name-r$r/pair.log" 2>&1
    "$java" --enable-native-access=ALL-UNNAMED -jar "$jar" 'HotBurstBenchmark.(cache|malloc|glibc|mimalloc|tcmalloc)$' \
      -p burst=100,1000 "${jmh[@]}" -rf json -rff "$here/$name-r$r/burst.json" > "$here/$name-r$r/burst.log" 2>&1
  done
done
python3 "$here/summary.py" "$here" "$@" | tee "$here/summary.txt"
