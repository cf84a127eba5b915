# The comparison's conclusion (validate.sh), added to its document.
# Arguments: $stocksetup, $setup (rings, channels, LLQ mode of each run),
# $stockcounters (the baseline's counter deltas), $at (when the baseline was
# measured) and $now, in seconds.
#
# Per figure, from the 95% interval of custom's speed relative to stock:
# "no difference" when all of it lies within 5% of 1 (a difference too
# small to name: with 3 runs a side, chance alone separates the runs of
# one figure in ten), else "faster" (all of it above 1), "slower" (all
# below 1) or "inconclusive" (too wide to tell, or fewer than 3 runs: no
# interval). The whole: the slower and faster figures named, else "no
# difference"; the inconclusive ones in brackets; "inconclusive" outright
# when a bw/pps allowance counter moved in either run (EC2 throttled the
# ENI: burst credits spent on "up to" bandwidth types).
# belowMinimum names the figures whose whole interval lies below minRatio
# (their point ratio when they have no interval): the step fails on them.
# A ring, channel or LLQ mode that differs from the stock run is named: the
# figures compare unlike setups.

def tolerance: 0.05;
def figname: {singleTx: "single tx", singleRx: "single rx", multiTx: "multi tx", multiRx: "multi rx",
            latP50: "latency p50", latP90: "latency p90", latP99: "latency p99", latP999: "latency p99.9"}[.] // .;
def word: if .lo == null then "inconclusive"
          elif .lo >= 1 - tolerance and .hi <= 1 / (1 - tolerance) then "no difference"
          elif .lo > 1 then "faster" elif .hi < 1 then "slower" else "inconclusive" end;
def said: "\(.key | figname) \(.value.speed) [\(.value.lo // "-"), \(.value.hi // "-")]";
def throttled(c): [c | to_entries[] | select(.key | test("^(bw_in|bw_out|pps)_allowance_exceeded$")) | select(.value > 0) | .key];

((throttled(.counters) | map("custom " + .)) + (throttled($stockcounters) | map("stock " + .))) as $thr
| [[["rxRing", "rx ring"], ["txRing", "tx ring"], ["channels", "channels"], ["llq", "LLQ"]][]
   | select($stocksetup[.[0]] != null and $setup[.[0]] != null and $stocksetup[.[0]] != $setup[.[0]])
   | "\(.[1]) \($stocksetup[.[0]]) (stock) vs \($setup[.[0]]) (custom)"] as $mis
| .minRatio as $m
| .comparison |= with_entries(.value += {verdict: (.value | word)})
| [.comparison | to_entries[]] as $cmp
| def named(w): [$cmp[] | select(.value.verdict == w) | .key | figname] | join(", ");
  . + {setup: {stock: $stocksetup, custom: $setup, mismatches: $mis}, allowanceExceeded: $thr,
       stockAgeMinutes: (if $at > 0 then (($now - $at) / 60 | floor) else null end),
       belowMinimum: (if ($thr | length) > 0 then [] else [$cmp[] | select((.value.hi // .value.speed) < $m) | said] end)}
| .verdict = ((if ($thr | length) > 0 then "inconclusive (allowance exceeded: \($thr | join(", ")))"
               else ([(named("slower") | select(. != "") | "slower: " + .), (named("faster") | select(. != "") | "faster: " + .)]
                     | if length > 0 then join("; ") else "no difference" end)
                    + (named("inconclusive") | if . != "" then " (inconclusive: " + . + ")" else "" end) end)
              + (if ($mis | length) > 0 then "; setup differs: " + ($mis | join(", ")) else "" end))
