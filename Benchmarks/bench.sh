#!/usr/bin/env bash
# make bench: makes the benchmark files (seeded, synthetic), then times glmfit and every
# peer it finds installed (R + data.table, R + read.csv, statsmodels, glum): whole process,
# wall time and peak resident memory (GNU time), medians of several runs (glmfit's spread in
# brackets, every run's time in bench-data/bench.log), glmfit and the fast peers taking turns.
#   BENCH_RUNS (default 5) runs of glmfit, BENCH_PEER_RUNS (default 3) of the fast peers;
#   the slow peers (R + read.csv, statsmodels) run once. BENCH_QUICK=1 skips the 10 M files;
#   BENCH_KINDS_ONLY=1 runs only the multinomial, ordinal and zero-inflated cases; BENCH_GLMFIT
#   names another glmfit binary (a copy, so that rebuilding does not change it mid-run).
#   BENCH_ONLY=factors runs only the high-cardinality factor cases (issue 25, at the end).
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

# (Re)compiled when generate.swift is newer, so that a new kind of file is known to it.
[ "$data/generate" -nt Benchmarks/generate.swift ] || swiftc -O Benchmarks/generate.swift -o "$data/generate"
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

machine_line() {
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
}
: > "$results"
if [ "${BENCH_ONLY:-}" != factors ]; then
{
  machine_line
  echo "BLAS: $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)"
  echo
  echo "| case | rows x columns | X (MB) | glmfit | glmfit peak (MB) | R + data.table | glum | statsmodels | R + read.csv | coefficients vs R |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
} | tee -a "$results"

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
fi # BENCH_ONLY

# High-cardinality factors (issue 25): a text factor of 1,000 to 100,000 levels, which glmfit
# keeps as codes. glmfit and glum take turns as above; besides wall time, the CPU time (user +
# system) of each, since this machine is shared. Each row names its target (issue 25) and
# whether this run met it; then the largest difference between glmfit's and glum's
# coefficients by name (one more untimed run of each) and the load average.

# Runs a command once; prints "seconds cpu_seconds kilobytes", or "- - -" when it fails.
time_cpu_once() {
  if ! /usr/bin/time -f "%e %U %S %M" -o "$data/time.txt" "$@" > /dev/null 2>> "$log"; then
    echo "failed: $*" >> "$log"; echo "- - -"; return
  fi
  tail -n 1 "$data/time.txt" | awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }'
}

# "max |difference| over n coefficients", glmfit's JSON against glum's {term: estimate}, with
# the names that glum lacks counted (absolute: the coefficients are log rates or log odds of
# order 1, and a relative difference of one near zero says nothing). A coefficient whose standard
# error exceeds 10 is left out and counted: a level whose responses are all 0 or all 1 (there
# are 8 such instructors in InstEval) has an estimate that runs off towards infinity, and
# each program stops somewhere else on the way (glmfit at about ±14).
glum_agreement() { # glmfit.json glum.json
  jq -rn --slurpfile g "$1" --slurpfile p "$2" '
    $p[0] as $glum
    | [$g[0].coefficients[] | select(.estimate != null)] as $estimated
    | [$estimated[] | select($glum[.term] != null and .std_error <= 10)
       | {d: ((.estimate - $glum[.term]) | fabs)}] as $pairs
    | [($pairs | map(.d) | max), ($pairs | length),
       ([$estimated[] | select(.std_error > 10)] | length), ([$estimated[] | select($glum[.term] == null)] | length)]
    | map(tostring) | join(" ")' | awk '$2 == 0 { print "-"; exit }
    { printf "%.1e over %d", $1, $2
      if ($3 > 0) printf "; %d with SE > 10 left out", $3
      if ($4 > 0) printf "; %d not in glum", $4 }'
}

# Whether "value unit" meets "<= limit": prints "yes" or "no" ("-" without a value).
meets() { # value limit
  if [ "$1" = "-" ]; then echo "-"; else awk -v v="$1" -v l="$2" 'BEGIN { print (v <= l ? "yes" : "no") }'; fi
}

factor_case() { # name file family formula levels seconds_target(or -) megabytes_target(or -) glum(yes/no) [extra glmfit args]
  local name=$1 file=$data/$2 family=$3 formula=$4 levels=$5 s_target=$6 mb_target=$7 with_glum=$8
  local extra=("${@:9}")
  local g_times=() g_cpu=() p_times=() p_cpu=() g_peak=0 p_peak=0 g_failed=0 seconds cpu kilobytes round
  local rounds=$runs; [ "$with_glum" = yes ] && [ $have_glum = 1 ] && (( peer_runs > rounds )) && rounds=$peer_runs
  cat "$file" > /dev/null
  rm -f "$data/glum_coefs.json"
  for round in $(seq "$rounds"); do
    if (( round <= runs )); then
      read -r seconds cpu kilobytes < <(time_cpu_once "$bin" "$file" --family "$family" --formula "$formula" --format json "${extra[@]}")
      if [ "$seconds" = "-" ]; then g_failed=1; else g_times+=("$seconds"); g_cpu+=("$cpu"); (( kilobytes > g_peak )) && g_peak=$kilobytes; fi
    fi
    if [ "$with_glum" = yes ] && [ $have_glum = 1 ] && (( round <= peer_runs )); then
      read -r seconds cpu kilobytes < <(time_cpu_once python3 Benchmarks/peers/glum_glm.py "$file" "$family" "$formula")
      if [ "$seconds" != "-" ]; then p_times+=("$seconds"); p_cpu+=("$cpu"); (( kilobytes > p_peak )) && p_peak=$kilobytes; fi
    fi
  done
  {
    echo "$name: glmfit $(printf '%s ' "${g_times[@]}")(CPU $(printf '%s ' "${g_cpu[@]}"))"
    (( ${#p_times[@]} > 0 )) && echo "$name: glum $(printf '%s ' "${p_times[@]}")(CPU $(printf '%s ' "${p_cpu[@]}"))"
    echo "$name: load average $(cut -d' ' -f1-3 /proc/loadavg)"
  } >> "$log"
  local g_s="-" g_c="-" g_mb="-" p_s="-" p_c="-" p_mb="-" g_range="" agree="-"
  if [ $g_failed = 0 ]; then
    g_s=$(printf '%s\n' "${g_times[@]}" | median); g_c=$(printf '%s\n' "${g_cpu[@]}" | median); g_mb=$((g_peak / 1024))
    (( ${#g_times[@]} > 1 )) && g_range=" ($(printf '%s\n' "${g_times[@]}" | spread))"
  fi
  if (( ${#p_times[@]} > 0 )); then
    p_s=$(printf '%s\n' "${p_times[@]}" | median); p_c=$(printf '%s\n' "${p_cpu[@]}" | median); p_mb=$((p_peak / 1024))
    # One more glum run, untimed, to a tight tolerance: glum's default (1e-4 on the gradient)
    # leaves differences of about 1e-4 in the coefficients.
    if GLUM_GRADIENT_TOL=1e-10 python3 Benchmarks/peers/glum_glm.py "$file" "$family" "$formula" "$data/glum_coefs.json" > /dev/null 2>> "$log" \
       && "$bin" "$file" --family "$family" --formula "$formula" --format json > "$data/glmfit_coefs.json" 2>> "$log"; then
      agree=$(glum_agreement "$data/glmfit_coefs.json" "$data/glum_coefs.json")
    fi
  fi
  local targets=() met=yes target
  if [ "$s_target" != "-" ]; then targets+=("≤ $s_target s"); [ "$(meets "$g_s" "$s_target")" = yes ] || met=no; fi
  if [ "$mb_target" != "-" ]; then targets+=("≤ $mb_target MB"); [ "$(meets "$g_mb" "$mb_target")" = yes ] || met=no; fi
  [ "$g_s" = "-" ] && met="-"
  target=$(IFS=,; echo "${targets[*]}" | sed 's/,/, /g')
  echo "| $name | $levels | $g_s s$g_range | $g_c s | $g_mb | $(ratio "$p_s" "$g_s") | $p_c s | $p_mb | $target | $met | $agree | $(cut -d' ' -f1 /proc/loadavg) |" | tee -a "$results"
}

{
  echo
  machine_line
  echo
  echo "High-cardinality factors (issue 25)"
  echo
  echo "| case | levels | glmfit | glmfit CPU | glmfit peak (MB) | glum | glum CPU | glum peak (MB) | target | met | coefficients, glmfit vs glum | load |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
} | tee -a "$results"
# InstEval (lme4): 73,421 ratings; good = y >= 4, instructor d (1,128 levels) and student s
# (2,972), written as text ("d" / "s" + the level) so that every program reads them as factors.
if [ $have_r = 1 ] && [ ! -s "$data/insteval.csv" ]; then
  echo "exporting $data/insteval.csv (lme4::InstEval)" >&2
  Rscript -e 'suppressMessages(library(lme4)); e <- InstEval
    write.csv(data.frame(good = as.integer(e$y >= 4), d = paste0("d", e$d), s = paste0("s", e$s)),
              commandArgs(TRUE)[1], row.names = FALSE, quote = FALSE)' "$data/insteval.csv.tmp" 2>> "$log" \
    && mv "$data/insteval.csv.tmp" "$data/insteval.csv"
fi
if [ -s "$data/insteval.csv" ]; then
  factor_case "InstEval, good ~ d" insteval.csv binomial "good ~ d" "1,128" 0.43 - yes
  factor_case "InstEval, good ~ d + s" insteval.csv binomial "good ~ d + s" "1,128 + 2,972" 4.1 - yes
  # Downstream on the codes, glmfit alone: robust and cluster SEs of all 4,100 coefficients,
  # a GEE with the instructors as a factor and the students as clusters.
  factor_case "InstEval, good ~ d + s, --vcov HC0" insteval.csv binomial "good ~ d + s" "1,128 + 2,972" - - no --vcov HC0
  factor_case "InstEval, good ~ d + s, --cluster s" insteval.csv binomial "good ~ d + s" "1,128 + 2,972" - - no --cluster s
  factor_case "InstEval, good ~ d, GEE --id s" insteval.csv binomial "good ~ d" "1,128" - - no --id s
else
  echo "| InstEval | (skipped: needs R with lme4 to export it) | | | | | | | | | | |" | tee -a "$results"
fi
generate factor2k 1000000 factor2k_1m.csv
factor_case "poisson 1M, y ~ x1 + x2 + f" factor2k_1m.csv poisson "y ~ x1 + x2 + f" "2,000" 0.38 500 yes
# The same file in chunks of 100,000 rows (every pass reads the file again), and with f
# sum-coded (its 1,999 columns held as codes times the contrast matrix): glmfit alone.
factor_case "poisson 1M, f, --chunk-rows 100000" factor2k_1m.csv poisson "y ~ x1 + x2 + f" "2,000" - 500 no --chunk-rows 100000
factor_case "poisson 1M, f sum-coded" factor2k_1m.csv poisson "y ~ x1 + x2 + f" "2,000" - - no --contrasts contr.sum,contr.poly
# Two-way fixed effects, 1 M rows: 20,000 workers and 20,000 firms, both factors of many
# levels (the second solved as sparse); glum has them as two categorical matrices.
generate panel20k 1000000 panel20k_1m.csv
factor_case "poisson 1M, y ~ x1 + x2 + w + f" panel20k_1m.csv poisson "y ~ x1 + x2 + w + f" "20,000 + 20,000" - - yes
if [ "${BENCH_QUICK:-0}" != 1 ]; then
  # 10 M rows x 100,000 levels: glmfit alone (glum and R form the dense p x p matrices), its
  # JSON checked for a standard error on every coefficient that has an estimate.
  generate factor100k 10000000 factor100k_10m.csv
  ten_f="y ~ x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + f"
  factor_case "poisson 10M, y ~ x1 + ... + x10 + f" factor100k_10m.csv poisson "$ten_f" "100,000" - 4096 no
  if "$bin" "$data/factor100k_10m.csv" --family poisson --formula "$ten_f" --format json > "$data/factor100k.json" 2>> "$log"; then
    jq -r '"10M x 100,000: \([.coefficients[] | select(.estimate != null)] | length) coefficients with an estimate, \([.coefficients[] | select(.estimate != null and .std_error == null)] | length) of them without a standard error, \([.coefficients[] | select(.estimate == null)] | length) aliased"' "$data/factor100k.json" | tee -a "$results"
  else
    echo "10M x 100,000: the untimed run for the standard-error check failed (see $log)" | tee -a "$results"
  fi
fi
echo
echo "Ratios are peer time / glmfit time (higher: glmfit faster). Peaks are whole-process resident memory."
echo "Coefficients vs R: the largest relative difference from R's glm on the same file."
echo "High-cardinality cases: CPU is user + system time; load is the 1-minute load average after the case."
echo "Results also in $results; peer errors in $log."
