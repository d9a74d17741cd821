#!/usr/bin/env bash
# make bench: makes the benchmark files (seeded, synthetic), then times glmfit and every
# peer it finds installed (R + data.table, R + read.csv, statsmodels, glum): whole process,
# wall time and peak resident memory (GNU time), medians of several runs (glmfit's spread in
# brackets, every run's time in bench-data/bench.log), glmfit and the fast peers taking turns.
#   BENCH_RUNS (default 5) runs of glmfit, BENCH_PEER_RUNS (default 3) of the fast peers;
#   the slow peers (R + read.csv, statsmodels) run once. BENCH_QUICK=1 skips the 10 M files;
#   BENCH_KINDS_ONLY=1 runs only the multinomial, ordinal and zero-inflated cases; BENCH_GLMFIT
#   names another glmfit binary (a copy, so that rebuilding does not change it mid-run).
set -euo pipefail
cd "$(dirname "$0")/.."
data=bench-data
bin=${BENCH_GLMFIT:-.build/release/glmfit}
runs=${BENCH_RUNS:-5}
peer_runs=${BENCH_PEER_RUNS:-3}
mkdir -p "$data"
log="$data/bench.log"
: > "$log"
results="$data/results.md"

[ -x "$data/generate" ] || swiftc -O Benchmarks/generate.swift -o "$data/generate"
generate() { # kind rows file
  if [ ! -s "$data/$3" ]; then
    echo "generating $data/$3 ($2 rows)" >&2
    "$data/generate" "$1" "$2" "$data/$3.tmp" && mv "$data/$3.tmp" "$data/$3"
  fi
}

# Runs a command once; prints "seconds kilobytes", or "- -" when it fails.
time_once() {
  if ! /usr/bin/time -f "%e %M" -o "$data/time.txt" "$@" > /dev/null 2>> "$log"; then
    echo "failed: $*" >> "$log"; echo "- -"; return
  fi
  tail -n 1 "$data/time.txt"
}

# The median of the numbers on standard input ("-" when there are none).
median() {
  sort -n | awk '{a[NR]=$1} END { if (NR == 0) { printf "-"; exit } m = NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.2f", m }'
}

# The smallest and largest of the numbers on standard input, as "min-max".
spread() {
  sort -n | awk 'NR == 1 { low = $1 } { high = $1 } END { if (NR) printf "%s-%s", low, high }'
}

# Runs a command n times; prints "median_seconds peak_megabytes" (peak: the largest run).
measure() {
  local n=$1; shift
  local times=() peak=0 seconds kilobytes
  for _ in $(seq "$n"); do
    read -r seconds kilobytes < <(time_once "$@")
    [ "$seconds" = "-" ] && { echo "- -"; return; }
    times+=("$seconds")
    (( kilobytes > peak )) && peak=$kilobytes
  done
  echo "$(printf '%s\n' "${times[@]}" | median) $((peak / 1024))"
}

have_r_dt=0; have_r=0; have_sm=0; have_glum=0
command -v Rscript > /dev/null && have_r=1
[ $have_r = 1 ] && Rscript -e 'library(data.table)' > /dev/null 2>&1 && have_r_dt=1
python3 -c 'import statsmodels, pandas' > /dev/null 2>&1 && have_sm=1
python3 -c 'import glum, pandas' > /dev/null 2>&1 && have_glum=1

# The largest relative difference between glmfit's coefficients and R's (glm on the same file,
# read by data.table), by coefficient name; one untimed run of each.
r_agreement() { # file family link-args formula
  local file=$1 family=$2 formula=$4
  local link=(); [ -n "$3" ] && link=(--link "$3")
  "$bin" "$file" --family "$family" "${link[@]}" --formula "$formula" --format csv 2>> "$log" | cut -d, -f1,2 > "$data/glmfit_coefs.csv" || return
  Rscript Benchmarks/peers/r_datatable.R "$file" "$family" 2>> "$log" > "$data/r_coefs.csv" || return
  awk -F, 'NR == FNR { r[$1] = $2; next } FNR > 1 && ($1 in r) {
      d = $2 - r[$1]; if (d < 0) d = -d; m = r[$1] < 0 ? -r[$1] : r[$1]; if (m < 1e-300) m = 1
      if (d / m > worst) worst = d / m; n++ }
    END { if (n) printf "%.1e", worst; else printf "-" }' "$data/r_coefs.csv" "$data/glmfit_coefs.csv"
}

ratio() { # peer_seconds glmfit_seconds
  if [ "$1" = "-" ]; then echo "-"; elif [ "$2" = "-" ]; then echo "$1 s"; else awk -v p="$1" -v g="$2" 'BEGIN { printf "%.1f s (%.1fx)", p, p / g }'; fi
}

{
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "BLAS: $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)"
  echo
  echo "| case | rows x columns | X (MB) | glmfit | glmfit peak (MB) | R + data.table | glum | statsmodels | R + read.csv | coefficients vs R |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
} | tee "$results"

bench_case() { # name file family formula rows columns peers(yes/no) slow_peers(yes/no) [extra glmfit args]
  local name=$1 file=$data/$2 family=$3 formula=$4 rows=$5 columns=$6 peers=$7 slow=$8; shift 8
  local link=() ; [ "$family" = gamma ] && link=(--link log)
  local x_mb=$(( rows * columns * 8 / 1048576 ))
  local dt="-" gl="-" sm="-" rc="-" agree="-"
  # glmfit and the fast peers take turns, round by round, so that a slower or faster spell of
  # this shared machine falls on all of them (medians of interleaved runs).
  local g_times=() dt_times=() gl_times=() g_peak=0 g_failed=0 seconds kilobytes round
  local rounds=$runs; [ "$peers" = yes ] && (( peer_runs > rounds )) && rounds=$peer_runs
  # The file read once first, so that every timed run, glmfit's first included, finds it in
  # the page cache (this machine's kernel drops files idle for about a minute).
  cat "$file" > /dev/null
  for round in $(seq "$rounds"); do
    if (( round <= runs )); then
      read -r seconds kilobytes < <(time_once "$bin" "$file" --family "$family" "${link[@]}" --formula "$formula" --format json "$@")
      if [ "$seconds" = "-" ]; then g_failed=1; else g_times+=("$seconds"); (( kilobytes > g_peak )) && g_peak=$kilobytes; fi
    fi
    if [ "$peers" = yes ] && (( round <= peer_runs )); then
      if [ $have_r_dt = 1 ]; then
        read -r seconds _ < <(time_once Rscript Benchmarks/peers/r_datatable.R "$file" "$family")
        [ "$seconds" != "-" ] && dt_times+=("$seconds")
      fi
      if [ $have_glum = 1 ]; then
        read -r seconds _ < <(time_once python3 Benchmarks/peers/glum_glm.py "$file" "$family")
        [ "$seconds" != "-" ] && gl_times+=("$seconds")
      fi
    fi
  done
  local g_s="-" g_mb="-"
  if [ $g_failed = 0 ]; then g_s=$(printf '%s\n' "${g_times[@]}" | median); g_mb=$((g_peak / 1024)); fi
  (( ${#dt_times[@]} > 0 )) && dt=$(printf '%s\n' "${dt_times[@]}" | median)
  (( ${#gl_times[@]} > 0 )) && gl=$(printf '%s\n' "${gl_times[@]}" | median)
  # Every run's time in the log, for the spread behind each median.
  {
    echo "$name: glmfit $(printf '%s ' "${g_times[@]}")"
    (( ${#dt_times[@]} > 0 )) && echo "$name: R + data.table $(printf '%s ' "${dt_times[@]}")"
    (( ${#gl_times[@]} > 0 )) && echo "$name: glum $(printf '%s ' "${gl_times[@]}")"
  } >> "$log"
  local g_range=""; (( ${#g_times[@]} > 1 )) && g_range=" ($(printf '%s\n' "${g_times[@]}" | spread))"
  if [ "$peers" = yes ] && [ $have_r_dt = 1 ]; then agree=$(r_agreement "$file" "$family" "${link[1]:-}" "$formula"); fi
  if [ "$slow" = yes ]; then
    [ $have_sm = 1 ] && read -r sm _ < <(measure 1 python3 Benchmarks/peers/statsmodels_glm.py "$file" "$family")
    [ $have_r = 1 ] && read -r rc _ < <(measure 1 Rscript Benchmarks/peers/r_readcsv.R "$file" "$family")
  fi
  echo "| $name | $rows x $columns | $x_mb | $g_s s$g_range | $g_mb | $(ratio "$dt" "$g_s") | $(ratio "$gl" "$g_s") | $(ratio "$sm" "$g_s") | $(ratio "$rc" "$g_s") | ${agree:--} |" | tee -a "$results"
}

ten="y ~ x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + g"
if [ "${BENCH_KINDS_ONLY:-0}" != 1 ]; then
for family in poisson binomial gamma; do
  generate "$family" 1000000 "${family}_1m.csv"
  slow=no; [ "$family" = poisson ] && slow=yes
  bench_case "$family 1M" "${family}_1m.csv" "$family" "$ten" 1000000 15 yes "$slow"
done
# The same poisson file gzip-compressed: decompression streams into a temporary file first.
[ -s "$data/poisson_1m.csv.gz" ] || gzip -c -6 "$data/poisson_1m.csv" > "$data/poisson_1m.csv.gz"
bench_case "poisson 1M, gzip file" poisson_1m.csv.gz poisson "$ten" 1000000 15 no no
generate logistic50 1000000 logistic50_1m.csv
bench_case "logistic 1M x 50" logistic50_1m.csv binomial "y ~ ." 1000000 51 yes yes
generate wide200 200000 wide200_200k.csv
bench_case "wide 200k x 200" wide200_200k.csv gaussian "y ~ ." 200000 201 yes no
fi
# The model kinds beside the GLM: a 5-level response over 10 predictors, unordered (y) and
# ordered (o), against nnet::multinom / MASS::polr (after fread) and statsmodels MNLogit /
# OrderedModel, each peer run once (they take minutes).
generate categorical5 1000000 categorical5_1m.csv
{
  echo
  echo "| case | rows x columns | glmfit | glmfit peak (MB) | R (multinom / polr) | statsmodels (MNLogit / OrderedModel) |"
  echo "|---|---|---|---|---|---|"
} | tee -a "$results"
rhs="x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10"
for kind in multinomial ordinal; do
  response=y; [ $kind = ordinal ] && response=o
  cat "$data/categorical5_1m.csv" > /dev/null
  read -r g_s g_mb < <(measure "$runs" "$bin" "$data/categorical5_1m.csv" --family $kind --formula "$response ~ $rhs" --format json)
  r_s="-"; sm_s="-"
  [ $have_r_dt = 1 ] && read -r r_s _ < <(measure 1 Rscript Benchmarks/peers/r_categorical.R "$data/categorical5_1m.csv" $kind)
  [ $have_sm = 1 ] && read -r sm_s _ < <(measure 1 python3 Benchmarks/peers/statsmodels_categorical.py "$data/categorical5_1m.csv" $kind)
  echo "| $kind 1M | 1000000 x 10 (5 levels) | $g_s s | $g_mb | $(ratio "$r_s" "$g_s") | $(ratio "$sm_s" "$g_s") |" | tee -a "$results"
done
# Zero-inflated poisson, 1M rows x 10 predictors in both parts, against pscl::zeroinfl
# (after fread) and statsmodels ZeroInflatedPoisson, each peer run once.
generate zip10 1000000 zip10_1m.csv
{
  echo
  echo "| case | rows x columns | glmfit | glmfit peak (MB) | R (pscl::zeroinfl) | statsmodels (ZeroInflatedPoisson) |"
  echo "|---|---|---|---|---|---|"
} | tee -a "$results"
cat "$data/zip10_1m.csv" > /dev/null
read -r g_s g_mb < <(measure "$runs" "$bin" "$data/zip10_1m.csv" --family poisson --zero-inflated --formula "y ~ $rhs" --format json)
r_s="-"; sm_s="-"
[ $have_r_dt = 1 ] && read -r r_s _ < <(measure 1 Rscript Benchmarks/peers/r_zeroinfl.R "$data/zip10_1m.csv")
[ $have_sm = 1 ] && read -r sm_s _ < <(measure 1 python3 Benchmarks/peers/statsmodels_zip.py "$data/zip10_1m.csv")
echo "| zero-inflated poisson 1M | 1000000 x 10 (both parts) | $g_s s | $g_mb | $(ratio "$r_s" "$g_s") | $(ratio "$sm_s" "$g_s") |" | tee -a "$results"
if [ "${BENCH_QUICK:-0}" != 1 ] && [ "${BENCH_KINDS_ONLY:-0}" != 1 ]; then
  for family in poisson binomial gamma; do
    generate "$family" 10000000 "${family}_10m.csv"
    bench_case "$family 10M" "${family}_10m.csv" "$family" "$ten" 10000000 15 no no
  done
  bench_case "poisson 10M, --chunk-rows 500000" poisson_10m.csv poisson "$ten" 10000000 15 no no --chunk-rows 500000
fi
echo
echo "Ratios are peer time / glmfit time (higher: glmfit faster). Peaks are whole-process resident memory."
echo "Coefficients vs R: the largest relative difference from R's glm on the same file."
echo "Results also in $results; peer errors in $log."
