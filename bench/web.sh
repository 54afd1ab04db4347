#!/usr/bin/env bash
# bench/web.sh: the storefront's figures (issue 14): request rate, p50 and
# p99 of the category page (a department with its facets and 24
# products), a product page and the home page, each as a ratio to
# /healthz measured in the same run, against a seeded catalogue.
#
# The machine is shared and noisy, so the rounds interleave the four URLs
# (healthz, category, product, home, then again) and every ratio is taken
# within its round; the summary is the median round.
#
#   bench/web.sh                 # memory bus, `shop serve` as it ships
#   BENCH_WEB_BUS=amqp bench/web.sh   # every module its own process over RabbitMQ
#
# Environment (defaults in brackets):
#   BENCH_WEB_BIN       shop binary to run [build ./cmd/shop to bench-results/shop]
#   BENCH_WEB_DATA      data directory, seeded once and reused [bench-results/web-data-$PRODUCTS]
#   BENCH_WEB_PRODUCTS  catalogue size [100000]
#   BENCH_WEB_BUS       memory or amqp [memory]
#   BENCH_WEB_AMQP      broker URL [amqp://guest:guest@127.0.0.1:5672/]
#   BENCH_WEB_WORKERS   --workers of the memory-bus serve [number of CPUs]
#   BENCH_WEB_PORT      HTTP port of the storefront [18480]; split mode uses the next ones too
#   BENCH_WEB_ROUNDS    rounds [3]
#   BENCH_WEB_DURATION  wrk duration per URL and round [10s]
#   BENCH_WEB_CONNS     wrk connections [32]
#   BENCH_WEB_THREADS   wrk threads [2]
#   BENCH_WEB_PPROF     if set, serve's hidden --pprof-addr (memory bus, one
#                       process per worker: port, port+1, …), e.g. 127.0.0.1:6060
#
# Results: bench-results/web-<bus>.txt (every wrk run) and the summary on
# stdout.
set -euo pipefail

cd "$(dirname "$0")/.."
products=${BENCH_WEB_PRODUCTS:-100000}
data=${BENCH_WEB_DATA:-bench-results/web-data-$products}
busmode=${BENCH_WEB_BUS:-memory}
amqp=${BENCH_WEB_AMQP:-amqp://guest:guest@127.0.0.1:5672/}
port=${BENCH_WEB_PORT:-18480}
rounds=${BENCH_WEB_ROUNDS:-3}
duration=${BENCH_WEB_DURATION:-10s}
conns=${BENCH_WEB_CONNS:-32}
threads=${BENCH_WEB_THREADS:-2}
base="http://127.0.0.1:$port"
mkdir -p bench-results
out="bench-results/web-$busmode.txt"

bin=${BENCH_WEB_BIN:-}
if [[ -z $bin ]]; then
	bin=bench-results/shop
	go build -o "$bin" ./cmd/shop
fi
for tool in wrk curl; do
	command -v "$tool" >/dev/null || { echo "bench/web.sh: $tool is not installed (Debian: apt-get install $tool)" >&2; exit 1; }
done

# Seed once: the marker says which catalogue the directory holds.
marker="$data/.bench-web-seeded-$products"
if [[ ! -e $marker ]]; then
	if [[ -d $data && -n "$(ls -A "$data" 2>/dev/null)" ]]; then
		echo "bench/web.sh: $data is not empty and has no $marker: remove it or choose BENCH_WEB_DATA" >&2
		exit 1
	fi
	mkdir -p "$data"
	echo "seeding $products products into $data (once; minutes)…"
	"$bin" seed --products="$products" --database-url="sqlite://$data" --log-level=warn >"$data/seed.log" 2>&1 ||
		{ tail -20 "$data/seed.log" >&2; exit 1; }
	touch "$marker"
fi

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

logs="bench-results/web-$busmode-logs"
mkdir -p "$logs"
common=(--database-url="sqlite://$data" --log-level=warn)
if [[ $busmode == memory ]]; then
	extra=()
	[[ -n ${BENCH_WEB_PPROF:-} ]] && extra+=(--pprof-addr="$BENCH_WEB_PPROF")
	"$bin" serve "${common[@]}" --http-addr="127.0.0.1:$port" --workers="${BENCH_WEB_WORKERS:-$(nproc)}" "${extra[@]}" \
		>"$logs/serve.log" 2>&1 &
	pids+=($!)
	ready=("$base")
elif [[ $busmode == amqp ]]; then
	prefix="benchweb$$"
	ready=()
	n=0
	for mod in $("$bin" modules | awk 'NR > 1 && $2 == "false" && $3 == "shop" && $4 == "serve" { print $1 }'); do
		p=$port
		if [[ $mod != web ]]; then n=$((n + 1)); p=$((port + n)); fi
		"$bin" serve "${common[@]}" --only="$mod" --workers=0 --bus-url="$amqp" --bus-prefix="$prefix" \
			--http-addr="127.0.0.1:$p" >"$logs/$mod.log" 2>&1 &
		pids+=($!)
		ready+=("http://127.0.0.1:$p")
	done
else
	echo "bench/web.sh: BENCH_WEB_BUS=$busmode: want memory or amqp" >&2
	exit 1
fi

for u in "${ready[@]}"; do
	for _ in $(seq 600); do
		[[ "$(curl -s -o /dev/null -w '%{http_code}' "$u/readyz")" == 200 ]] && break
		sleep 0.5
	done
	[[ "$(curl -s -o /dev/null -w '%{http_code}' "$u/readyz")" == 200 ]] ||
		{ echo "bench/web.sh: $u/readyz never answered 200; logs in $logs" >&2; exit 1; }
done

# The pages: the first department of the menu (the catalogue's biggest
# facet query) and the first product it lists.
category=$(curl -sf "$base/api/v1/categories/tree" | jq -r '"/" + .roots[0].slug')
product=$(curl -sf "$base$category" | grep -o 'href="/p/[^"?#]*"' | head -1 | cut -d'"' -f2)
[[ -n $category && -n $product ]] || { echo "bench/web.sh: no category or product found" >&2; exit 1; }
declare -A url=([healthz]=/healthz [category]=$category [product]=$product [home]=/)
names=(healthz category product home)
for n in "${names[@]}"; do
	code=$(curl -s -o /dev/null -w '%{http_code}' "$base${url[$n]}")
	[[ $code == 200 ]] || { echo "bench/web.sh: $n ${url[$n]} answered $code" >&2; exit 1; }
	[[ $n == category ]] && { curl -s "$base${url[$n]}" | grep -q 'class="facet' || echo "warning: the category page shows no facets" >&2; }
	wrk -t"$threads" -c"$conns" -d2s "$base${url[$n]}" >/dev/null # warm up
done

echo "# $(date -u +%FT%TZ) bus=$busmode products=$products wrk -t$threads -c$conns -d$duration; load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out"
for n in "${names[@]}"; do echo "# $n ${url[$n]}"; done | tee -a "$out"
# ms converts wrk's latency ("512.00us", "3.20ms", "1.05s") to milliseconds.
ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.2f", v / 1000; else if (v ~ /ms$/) printf "%.2f", v + 0; else if (v ~ /s$/) printf "%.2f", v * 1000; else printf "%s", v }'; }
for r in $(seq "$rounds"); do
	for n in "${names[@]}"; do
		res=$(wrk -t"$threads" -c"$conns" -d"$duration" --latency "$base${url[$n]}")
		rps=$(awk '/^Requests\/sec/ { print $2 }' <<<"$res")
		p50=$(awk '$1 == "50%" { print $2 }' <<<"$res")
		p99=$(awk '$1 == "99%" { print $2 }' <<<"$res")
		errs=$(awk '/Non-2xx|Socket errors/ { printf "%s ", $0 }' <<<"$res")
		echo "round=$r page=$n rps=$rps p50_ms=$(ms "$p50") p99_ms=$(ms "$p99") ${errs:+errors=\"$errs\"}" | tee -a "$out"
	done
done

# Summary: per page the median over rounds of req/s, p50, p99 and of the
# ratio to the same round's /healthz.
awk '
	/^round=/ {
		for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		r = f["round"]; p = f["page"]
		rps[p, r] = f["rps"]; p50[p, r] = f["p50_ms"]; p99[p, r] = f["p99_ms"]
		if (r > rounds) rounds = r
		if (!(p in seen)) { seen[p] = 1; order[++np] = p }
	}
	function median(a, n,    i, j, t) {
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END {
		printf "%-9s %10s %8s %8s %14s\n", "page", "req/s", "p50 ms", "p99 ms", "ratio healthz"
		for (k = 1; k <= np; k++) {
			p = order[k]
			for (r = 1; r <= rounds; r++) { a[r] = rps[p, r]; b[r] = p50[p, r]; c[r] = p99[p, r]; d[r] = rps[p, r] / rps["healthz", r] }
			printf "%-9s %10.0f %8.2f %8.2f %14.4f\n", p, median(a, rounds), median(b, rounds), median(c, rounds), median(d, rounds)
		}
	}' "$out" | tee -a "$out"
