# The lab's statistics, in POSIX awk so that gawk (Amazon Linux 2023), mawk
# (Debian) and busybox awk (the test VMs) give the same answers: the random
# draws come from our own generator, not awk's rand().
#
#   awk -v mode=percentiles -v ps="50 90 99 99.9"   SORTED_NUMBERS
#       "p value" per percentile, nearest rank: the smallest value with at
#       least p% of the samples at or below it.
#   awk -v mode=summary   LINES "figure value"
#       "figure n median lo hi": the median of the runs and its 95%
#       percentile-bootstrap interval ("-" for lo/hi below 3 runs).
#   awk -v mode=compare   LINES "side figure value" (side: stock or custom)
#       "figure speed lo hi": custom's speed relative to stock (above 1:
#       faster) as the ratio of the medians, and its 95% bootstrap interval.
#       Figures named lat* are latencies (lower is faster): stock/custom;
#       the others are rates: custom/stock.
#
# The bootstrap resamples each side's runs with replacement (seeded, so the
# same runs always give the same interval) and takes the 2.5% and 97.5%
# quantiles of the resampled medians, or of their ratio.

BEGIN {
	B = 1000 # resamples
	seed = 20261205
}

# lcg: the next uniform draw in [0, 1). Every intermediate stays below 2^53,
# so every awk's doubles compute it exactly.
function lcg() {
	seed = (seed * 1664525 + 1013904223) % 4294967296
	return seed / 4294967296
}

# sort_n(a, n): a[1..n] ascending (shell sort; n is at most a few thousand).
function sort_n(a, n, gap, i, j, t) {
	for (gap = int(n / 2); gap > 0; gap = int(gap / 2))
		for (i = gap + 1; i <= n; i++) {
			t = a[i]
			for (j = i; j > gap && a[j - gap] > t; j -= gap) a[j] = a[j - gap]
			a[j] = t
		}
}

function median_of(a, n, s, i) {
	for (i = 1; i <= n; i++) s[i] = a[i]
	sort_n(s, n)
	if (n % 2) return s[(n + 1) / 2]
	return (s[n / 2] + s[n / 2 + 1]) / 2
}

# resample(src, n, dst): n draws from src[1..n] with replacement.
function resample(src, n, dst, i) {
	for (i = 1; i <= n; i++) dst[i] = src[1 + int(lcg() * n)]
}

# quantile(a, n, q): of a sorted a[1..n], the value at rank ceil(q*n).
function quantile(a, n, q) { return a[rank(q * n)] }

# rank(k): ceil(k), forgiving the binary rounding of p/100*n (99.9% of 1000
# is rank 999, not 1000).
function rank(k) {
	k = (k - int(k) < 1e-9) ? int(k) : int(k) + 1
	return k < 1 ? 1 : k
}

function num(x) { return sprintf("%.6g", x) }

mode == "percentiles" {
	if ($1 != "") v[++count] = $1 # kept as written: print would round a number
	next
}
mode == "summary" {
	if (!($1 in n)) order[++figures] = $1
	x[$1, ++n[$1]] = $2 + 0
	next
}
mode == "compare" {
	if ($1 != "stock" && $1 != "custom") { print "stats.awk: side '" $1 "' is neither stock nor custom" > "/dev/stderr"; bad = 1; exit 2 }
	if (!(($1, $2) in n)) { n[$1, $2] = 0; if (!($2 in seen)) { seen[$2] = 1; order[++figures] = $2 } }
	x[$1, $2, ++n[$1, $2]] = $3 + 0
	next
}

END {
	if (bad) exit 2
	if (mode == "percentiles") percentiles()
	else if (mode == "summary") summary()
	else if (mode == "compare") compare()
	else { print "stats.awk: mode '" mode "' is not percentiles, summary or compare" > "/dev/stderr"; exit 2 }
}

function percentiles(m, i, p) {
	if (count == 0) { print "stats.awk: no samples" > "/dev/stderr"; exit 1 }
	m = split(ps, want, " ")
	for (i = 1; i <= m; i++) {
		p = want[i] + 0
		print want[i], v[rank(p / 100 * count)]
	}
}

function summary(f, i, k, r, a, d, meds, cnt) {
	for (f = 1; f <= figures; f++) {
		cnt = n[order[f]]
		for (i = 1; i <= cnt; i++) a[i] = x[order[f], i]
		if (cnt < 3) { print order[f], cnt, num(median_of(a, cnt)), "-", "-"; continue }
		for (r = 1; r <= B; r++) { resample(a, cnt, d); meds[r] = median_of(d, cnt) }
		sort_n(meds, B)
		print order[f], cnt, num(median_of(a, cnt)), num(quantile(meds, B, 0.025)), num(quantile(meds, B, 0.975))
	}
}

function compare(f, name, i, r, ns, nc, s, c, ds, dc, ms, mc, ratios, latency) {
	for (f = 1; f <= figures; f++) {
		name = order[f]
		latency = (name ~ /^lat/)
		ns = n["stock", name]
		nc = n["custom", name]
		if (ns == 0 || nc == 0) { print "stats.awk: figure " name " has no " (ns ? "custom" : "stock") " runs" > "/dev/stderr"; exit 1 }
		for (i = 1; i <= ns; i++) s[i] = x["stock", name, i]
		for (i = 1; i <= nc; i++) c[i] = x["custom", name, i]
		ms = median_of(s, ns)
		mc = median_of(c, nc)
		if (ns < 3 || nc < 3) { print name, num(speed(ms, mc, latency)), "-", "-"; continue }
		for (r = 1; r <= B; r++) {
			resample(s, ns, ds)
			resample(c, nc, dc)
			ratios[r] = speed(median_of(ds, ns), median_of(dc, nc), latency)
		}
		sort_n(ratios, B)
		print name, num(speed(ms, mc, latency)), num(quantile(ratios, B, 0.025)), num(quantile(ratios, B, 0.975))
	}
}

# speed(stock, custom, latency): custom's speed relative to stock.
function speed(st, cu, latency) {
	if (latency) return cu > 0 ? st / cu : 0
	return st > 0 ? cu / st : 0
}
