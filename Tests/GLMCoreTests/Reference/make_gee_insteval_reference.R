#!/usr/bin/env Rscript
# Reference numbers for GEE fits with a large factor, from geepack::geeglm on a real
# dataset: lme4's InstEval (Examples/insteval.csv.gz), the ratings of the instructors with
# at least 150 ratings (145 instructors, 33,806 ratings), instructor `d` as a factor (144
# indicator columns: glmfit holds them as codes), clusters = students `s`.
#
# Writes gee_insteval_reference.json in the format of gee_reference.json, except that
# `vcov` and `vcov_naive` hold only their leading 12 × 12 block and `fitted_values` the
# first 50 rows used (the full matrices would be megabytes); every coefficient's estimate
# and standard errors are written.
#
# Usage: Rscript Tests/GLMCoreTests/Reference/make_gee_insteval_reference.R
# Needs geepack (1.3.9 here). Takes a few minutes.

suppressPackageStartupMessages(library(geepack))
invisible(Sys.setlocale("LC_COLLATE", "C"))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
refdir <- if (length(script) == 1) dirname(normalizePath(script)) else
  file.path("Tests", "GLMCoreTests", "Reference")
root <- normalizePath(file.path(refdir, "..", "..", ".."))

min_ratings <- 150
all <- read.csv(gzfile(file.path(root, "Examples", "insteval.csv.gz")), stringsAsFactors = FALSE)
counts <- table(all$d)
kept_levels <- sort(names(counts)[counts >= min_ratings])
d <- all[all$d %in% kept_levels, ]
d$.row <- seq_len(nrow(d))
d$d <- factor(d$d, levels = kept_levels)
# Students with one rating first, then by student (order() is stable: a student's rows stay
# in file order). geeglm's SE of alpha gives a one-row cluster the previous cluster's alpha
# terms again; glmfit gives it none, which is geeglm's result when no cluster precedes it.
size <- as.vector(table(d$s)[d$s])
d <- d[order(size != 1, d$s), ]
# geese.fit finds clusters where as.numeric(id) changes: a text id would be NA throughout
# (one cluster of every row), so the id is the student's number in C-locale order.
d$sid <- as.integer(factor(d$s))
rownames(d) <- NULL

cases <- list(
  list(id = "insteval_binomial_exchangeable", formula = "good ~ service + d", family = "binomial",
       link = "logit", corstr = "exchangeable", weights = ""),
  list(id = "insteval_gaussian_ar1", formula = "y ~ studage + d", family = "gaussian",
       link = "identity", corstr = "ar1", weights = ""),
  list(id = "insteval_poisson_independence_weights", formula = "y ~ lectage + d", family = "poisson",
       link = "log", corstr = "independence", weights = "studage")
)
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
  paste0("  \"min_ratings\": ", min_ratings, ","),
  paste0("  \"levels\": ", json_str_array(kept_levels), ","),
  "  \"cases\": [",
  paste0("    ", paste(objs, collapse = ",\n    ")), "  ]", "}")
writeLines(out, file.path(refdir, "gee_insteval_reference.json"), useBytes = TRUE)
cat(R.version.string, " geepack", as.character(packageVersion("geepack")), "\n")
