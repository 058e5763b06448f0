#!/usr/bin/env bash
# Runs the concurrency-heavy test classes ROUNDS times each in one JVM per module, stopping at the
# first failure (no reruns anywhere: an intermittent failure is a bug to find).
#   scripts/repeat-tests.sh [ROUNDS [CLASS...]]   (default 200 rounds of the list below)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-200}
java=$(ls -d /usr/lib/jvm/*25* | head -n 1)/bin/java
# Reactor build, so the classpath names this tree's rcu classes, not an installed jar.
./mvnw -B -q -pl allocator -am test-compile dependency:build-classpath -Djcstress.skip=true \
  -Dmdep.includeScope=test -Dmdep.outputFile=target/test.classpath
cp="allocator/target/test-classes:allocator/target/classes:rcu/target/test-classes:$(cat allocator/target/test.classpath)"
shift || true
classes=("$@")
[ ${#classes[@]} -gt 0 ] || classes=(dev.sheaf.rcu.RcuSafetyStressTest dev.sheaf.rcu.RcuThreadsTest dev.sheaf.rcu.RcuMisuseTest \
  dev.sheaf.allocator.ConcurrentStressTest dev.sheaf.allocator.rcufree.RcuFreeEngineSafetyTest \
  dev.sheaf.allocator.rcufree.RcuFreeEngineTest dev.sheaf.allocator.rcufree.RcuFreeEngineDormancyTest \
  dev.sheaf.allocator.SheafRcuPathTest dev.sheaf.allocator.MagazineTest dev.sheaf.allocator.ObjectStateTest \
  dev.sheaf.allocator.rcufree.RcuFreeEngineMisuseTest)
exec "$java" --enable-native-access=ALL-UNNAMED -Xss1m -cp "$cp" dev.sheaf.allocator.RepeatRunner "$rounds" "${classes[@]}"
