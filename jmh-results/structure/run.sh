#!/bin/bash
# A/A/B rounds for the restructure: the landed jar (A) before and after this tree's jar (B) in
# every round, so the spread between the two A runs of a round is the noise band B is judged by.
# Usage: jmh-results/structure/run.sh OLD_JAR NEW_JAR [ROUNDS]   (from the repository root)
set -euo pipefail
OLD=$1 NEW=$2 ROUNDS=${3:-3}
J=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
OUT=jmh-results/structure
run() { # jar, json name
  $J --enable-native-access=ALL-UNNAMED -jar "$1" 'AllocatorBenchmark\.(pair|burst)' \
    -p peer=sheaf-cache,sheaf-malloc,glibc,mimalloc,tcmalloc -p burst=100 \
    -f 1 -wi 3 -w 1s -i 4 -r 1s -prof gc -rf json -rff "$OUT/$2.json" > "/tmp/structure-$2.log" 2>&1
}
for r in $(seq 1 "$ROUNDS"); do
  run "$OLD" "old-a-r$r"
  run "$NEW" "new-r$r"
  run "$OLD" "old-b-r$r"
done
python3 "$OUT/summary.py" "$OUT" > "$OUT/summary.txt"
cat "$OUT/summary.txt"
