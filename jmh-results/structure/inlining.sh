#!/bin/bash
# Inlining decisions of the fast-path methods in a -XX:+PrintInlining log: (method, size, verdict) with counts.
# Usage: jmh-results/structure/inlining.sh raw.txt
grep -E '(SlabCache|SlabAllocator|Magazine|PerThreadTable|ObjectStates|AddressChecks)::(alloc|free|malloc|popMain|pushMain|peek|get|set|magazine|isLive|objectStart|slabOf|slabToFree|freeValidated|putObject|checkObject|checkInSlab|isObjectStart|checkAllocated)\b' "$1" \
 | sed -E 's/^[ !]*//; s/^@ [0-9]+ +//; s/ +/ /g; s/(inline \(hot\))( inline \(hot\))+/\1/; s/(failed to inline: [^ ].*)\1/\1/' | sort | uniq -c
