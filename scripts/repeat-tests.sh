#!/usr/bin/env bash
# Runs the concurrency-heavy test classes ROUNDS times each in one JVM per module, stopping at the
# first failure (no reruns anywhere: an intermittent failure is a bug to find).
#   scripts/repeat-tests.sh [ROUNDS]        (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-200}
java=$(ls -d /usr/lib/jvm/*25* | head -n 1)/bin/java
./mvnw -B -q -pl allocator -am test-compile -Djcstress.skip=true
cp=$(./mvnw -B -q -pl allocator dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=/dev/stdout)
cp="allocator/target/test-classes:allocator/target/classes:rcu/target/test-classes:rcu/target/classes:$cp"
exec "$java" --enable-native-access=ALL-UNNAMED -Xss1m -cp "$cp" dev.sheaf.allocator.RepeatRunner "$rounds" \
  dev.sheaf.rcu.RcuSafetyStressTest dev.sheaf.rcu.RcuThreadsTest dev.sheaf.rcu.RcuMisuseTest \
  dev.sheaf.allocator.ConcurrentStressTest dev.sheaf.allocator.RcuFreeSafetyTest dev.sheaf.allocator.RcuFreeTest \
  dev.sheaf.allocator.RcuFreeDormancyTest dev.sheaf.allocator.SheafRcuPathTest dev.sheaf.allocator.MagazineTest \
  dev.sheaf.allocator.ObjectStateTest dev.sheaf.allocator.RcuFreeMisuseTest
