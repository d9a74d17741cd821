#!/usr/bin/env Rscript
# Reference numbers for GEE fits with TWO large factors, from geepack::geeglm on a real
# dataset: lme4's InstEval (Examples/insteval.csv.gz). Instructor `d` and student `s` are
# both factors (treatment contrasts, levels in C-locale order, the first level the
# reference), and the clusters are the students, so the student factor is constant within
# each cluster.
#
# The rows: the instructors with at least 150 ratings in the whole file (145 instructors,
# 33,806 ratings), then, repeated until nothing changes, keep the students with at least
# `min_student_ratings` ratings among the rows kept, and drop every instructor and every
# student whose `good` is constant in the rows kept (such a level separates the binomial
# fit: its coefficient goes to infinity). The instructors that no longer have a row drop
# out of the factor. The lists `instructors` and `students` written to the JSON give the
# rows exactly: a row is kept if and only if its d is in `instructors` and its s in
# `students`. Every formula is checked with glm() to be of full rank (no NA coefficient).
#
# Writes gee_two_factor_reference.json in the format of gee_insteval_reference.json:
# `vcov` and `vcov_naive` hold only their leading 12 × 12 block and `fitted_values` the
# first 50 rows used (in file order); every coefficient's estimate and standard errors are
# written. Exchangeable is not used: a student factor with student clusters drives the
# exchangeable alpha to the singular -1/(n - 1).
#
# Usage: Rscript Tests/GLMCoreTests/Reference/make_gee_two_factor_reference.R
# Needs geepack (1.3.9 here). Takes several minutes.

suppressPackageStartupMessages(library(geepack))
invisible(Sys.setlocale("LC_COLLATE", "C"))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
refdir <- if (length(script) == 1) dirname(normalizePath(script)) else
  file.path("Tests", "GLMCoreTests", "Reference")
root <- normalizePath(file.path(refdir, "..", "..", ".."))

min_instructor_ratings <- 150
min_student_ratings <- 18
all <- read.csv(gzfile(file.path(root, "Examples", "insteval.csv.gz")), stringsAsFactors = FALSE)
counts <- table(all$d)
d <- all[all$d %in% names(counts)[counts >= min_instructor_ratings], ]
repeat {
  n_before <- nrow(d)
  student_counts <- table(d$s)
  d <- d[d$s %in% names(student_counts)[student_counts >= min_student_ratings], ]
  varies <- tapply(d$good, d$d, function(v) length(unique(v)) > 1)
  d <- d[d$d %in% names(varies)[varies], ]
  varies <- tapply(d$good, d$s, function(v) length(unique(v)) > 1)
  d <- d[d$s %in% names(varies)[varies], ]
  if (nrow(d) == n_before) break
}
kept_instructors <- sort(unique(d$d))
kept_students <- sort(unique(d$s))
d$.row <- seq_len(nrow(d))
d$d <- factor(d$d, levels = kept_instructors)
d$s <- factor(d$s, levels = kept_students)
# Students with one rating first, then by student (order() is stable: a student's rows stay
# in file order), as in make_gee_insteval_reference.R; with min_student_ratings > 1 there
# are no one-rating students and this is just the order by student.
size <- as.vector(table(d$s)[d$s])
d <- d[order(size != 1, d$s), ]
# geese.fit finds clusters where as.numeric(id) changes: a text id would be NA throughout
# (one cluster of every row), so the id is the student's number in C-locale order.
d$sid <- as.integer(d$s)
rownames(d) <- NULL

cases <- list(
  list(id = "two_factor_binomial_independence", formula = "good ~ service + d + s", family = "binomial",
       link = "logit", corstr = "independence", weights = ""),
  list(id = "two_factor_gaussian_ar1", formula = "y ~ service + d + s", family = "gaussian",
       link = "identity", corstr = "ar1", weights = ""),
  list(id = "two_factor_poisson_independence_weights", formula = "y ~ lectage + d + s", family = "poisson",
       link = "log", corstr = "independence", weights = "studage")
)

# Full rank: glm() gives no NA coefficient for any formula (and converges).
for (cs in cases) {
  w <- if (nzchar(cs$weights)) d[[cs$weights]] else NULL
  g <- glm(as.formula(cs$formula), family = get(cs$family)(link = cs$link), data = d, weights = w)
  if (anyNA(coef(g))) stop(cs$id, ": rank deficient: ", paste(names(coef(g))[is.na(coef(g))], collapse = " "))
  if (!g$converged) stop(cs$id, ": glm did not converge")
}
controls <- list(default = geese.control(), tight = geese.control(epsilon = 1e-10, maxit = 100))
block <- 12
head_rows <- 50

json_str <- function(s) if (length(s) != 1 || is.na(s)) "null" else paste0("\"", gsub("\"", "\\\"", s, fixed = TRUE), "\"")
json_num <- function(x) {
  if (length(x) != 1) stop("json_num: not a scalar")
  if (is.na(x) || !is.finite(x)) return("null")
  if (is.integer(x)) return(as.character(x))
  sprintf("%.17g", x)
}
json_num_array <- function(x) paste0("[", paste(vapply(as.list(x), json_num, ""), collapse = ", "), "]")
json_str_array <- function(x) paste0("[", paste(vapply(as.list(x), json_str, ""), collapse = ", "), "]")
json_matrix <- function(m) {
  rows <- vapply(seq_len(nrow(m)), function(i) json_num_array(m[i, ]), "")
  paste0("[\n          ", paste(rows, collapse = ",\n          "), "\n        ]")
}
json_object <- function(fields, indent = "    ") {
  body <- paste0(indent, "  ", vapply(names(fields), json_str, ""), ": ", unlist(fields))
  paste0("{\n", paste(body, collapse = ",\n"), "\n", indent, "}")
}

fit_case <- function(cs, control) {
  env <- new.env(parent = globalenv())
  traced <- control
  traced$trace <- 1L
  assign("d", d, envir = env)
  assign("ctl", traced, envir = env)
  cl <- call("geeglm", formula = as.formula(cs$formula, env = env),
             family = call(cs$family, link = cs$link), data = as.name("d"), id = as.name("sid"),
             corstr = cs$corstr, control = as.name("ctl"))
  if (nzchar(cs$weights)) cl$weights <- as.name(cs$weights)
  printed <- capture.output(fit <- eval(cl, env))
  assign("ctl", control, envir = env)
  list(fit = fit, iterations = length(grep("^iter = ", printed)), qic = QIC(fit, env = env))
}

result_json <- function(res, control) {
  fit <- res$fit
  g <- fit$geese
  cf <- summary(fit)$coefficients
  q <- res$qic
  k <- seq_len(min(block, length(g$beta)))
  json_object(list(
    epsilon = json_num(control$epsilon),
    maxit = json_num(as.integer(control$maxit)),
    iterations = json_num(as.integer(res$iterations)),
    error = json_num(as.integer(g$error)),
    coefficients = json_num_array(unname(g$beta)),
    std_errors = json_num_array(unname(sqrt(diag(g$vbeta)))),
    naive_std_errors = json_num_array(unname(sqrt(diag(g$vbeta.naiv)))),
    wald = json_num_array(unname(cf[, "Wald"])),
    p_values = json_num_array(unname(cf[, "Pr(>|W|)"])),
    vcov = json_matrix(unname(g$vbeta[k, k])),
    vcov_naive = json_matrix(unname(g$vbeta.naiv[k, k])),
    alpha_names = json_str_array(names(g$alpha)),
    alpha = json_num_array(unname(g$alpha)),
    alpha_std_errors = json_num_array(if (length(g$alpha)) unname(sqrt(diag(g$valpha))) else numeric(0)),
    scale = json_num(unname(g$gamma)),
    scale_std_error = json_num(unname(sqrt(diag(g$vgamma)))),
    n_clusters = json_num(length(g$clusz)),
    max_cluster_size = json_num(as.integer(max(g$clusz))),
    # the first rows used, in file order
    fitted_values = json_num_array(unname(head(fit$fitted.values[order(fit$data$.row)], head_rows))),
    qic = json_object(list(
      QIC = json_num(unname(q["QIC"])), QICu = json_num(unname(q["QICu"])),
      quasi_likelihood = json_num(unname(q["Quasi Lik"])),
      CIC = json_num(unname(q["CIC"])), params = json_num(as.integer(q["params"])),
      QICC = json_num(unname(q["QICC"]))), indent = "        ")
  ), indent = "      ")
}

objs <- character(0)
for (cs in cases) {
  t0 <- proc.time()[["elapsed"]]
  results <- lapply(controls, function(ctl) fit_case(cs, ctl))
  tight <- results$tight$fit
  if (tight$geese$error != 0) stop(cs$id, ": geeglm did not converge with the tight control")
  objs <- c(objs, json_object(list(
    id = json_str(cs$id), data = json_str("Examples/insteval.csv.gz"), formula = json_str(cs$formula),
    family = json_str(cs$family), link = json_str(cs$link), id_column = json_str("s"), waves = "null",
    corstr = json_str(cs$corstr), weights = if (nzchar(cs$weights)) json_str(cs$weights) else "null",
    order = json_str("singletons_first"), n_obs = json_num(nrow(d)), n_dropped = json_num(0L),
    coef_names = json_str_array(names(tight$geese$beta)),
    default = result_json(results$default, controls$default),
    tight = result_json(results$tight, controls$tight))))
  a <- tight$geese$alpha
  cat(sprintf("%-40s iter=%2d/%2d n=%d coefficients=%d clusters=%d max=%d scale=%.6g alpha=%s (%.0f s)\n",
              cs$id, results$default$iterations, results$tight$iterations, nrow(d), length(tight$geese$beta),
              length(tight$geese$clusz), max(tight$geese$clusz), tight$geese$gamma,
              if (length(a)) signif(a[1], 6) else "-", proc.time()[["elapsed"]] - t0))
}

out <- c("{",
  paste0("  \"r_version\": ", json_str(R.version.string), ","),
  paste0("  \"geepack_version\": ", json_str(as.character(packageVersion("geepack"))), ","),
  paste0("  \"min_instructor_ratings\": ", min_instructor_ratings, ","),
  paste0("  \"min_student_ratings\": ", min_student_ratings, ","),
  paste0("  \"instructors\": ", json_str_array(kept_instructors), ","),
  paste0("  \"students\": ", json_str_array(kept_students), ","),
  "  \"cases\": [",
  paste0("    ", paste(objs, collapse = ",\n    ")), "  ]", "}")
writeLines(out, file.path(refdir, "gee_two_factor_reference.json"), useBytes = TRUE)
cat(sprintf("rows=%d instructors=%d students=%d\n", nrow(d), length(kept_instructors), length(kept_students)))
cat(R.version.string, " geepack", as.character(packageVersion("geepack")), "\n")
