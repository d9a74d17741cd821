#!/usr/bin/env Rscript
# Reference numbers for glmfit's GEE tests, computed with geepack::geeglm.
#
# Reads gee_cases.tsv (next to this script), fits every case with geeglm()
# twice, with geepack's default control (geese.control(): epsilon 1e-4,
# maxit 25) and with a tight one (epsilon 1e-10, maxit 100), and writes
#   gee_reference.json     all numbers, one object per case and control
#
# Usage (from anywhere):  Rscript Tests/GLMCoreTests/Reference/make_gee_reference.R
# Needs R (4.2.2 here) with geepack (1.3.9 here) and MASS (QIC inverts with
# MASS::ginv when MASS is loaded, as it is here).
#
# Data preparation, for each case:
#   * read.csv(stringsAsFactors = TRUE, na.strings = c("NA", "", "NaN"))
#     under LC_COLLATE=C;
#   * rows are put in cluster order, because geeglm takes a cluster to be a run
#     of equal consecutive ids (glmfit groups rows by id value instead):
#       order = "id": a stable sort by the id column (numbers numerically,
#         factors by level), which keeps file order inside a cluster;
#       order = "singletons_first": the same, but clusters with one row used
#         come first. geepack 1.3.9's gee_var() leaves the alpha-equation terms
#         of the previous cluster in place for a one-row cluster and adds them
#         again (HiandGi returns before setting them), so the standard error of
#         alpha depends on where singleton clusters sit; with them first, those
#         terms are still zero and geepack gives the correct value. Everything
#         else is unaffected by the order (up to rounding).
#   * with a waves column, rows inside a cluster are sorted by wave as well
#     (geeglm itself does not sort; the fits are equal mathematically, and
#     geepack's unstructured structure needs increasing waves).
#
# The JSON is written by hand (no jsonlite): numbers with sprintf("%.17g"),
# so every double round-trips exactly; NA, NaN and +-Inf are written as null.

suppressPackageStartupMessages({
  library(geepack)
  library(MASS)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
refdir <- if (length(script) == 1) dirname(normalizePath(script)) else
  file.path("Tests", "GLMCoreTests", "Reference")
root <- normalizePath(file.path(refdir, "..", "..", ".."))

cases <- read.delim(file.path(refdir, "gee_cases.tsv"), sep = "\t", quote = "",
                    colClasses = "character", na.strings = character(0),
                    comment.char = "")
stopifnot(identical(names(cases),
                    c("id", "data", "formula", "family", "link", "idcol",
                      "waves", "corstr", "weights", "order")),
          !anyDuplicated(cases$id))

r_family <- c(gaussian = "gaussian", binomial = "binomial", poisson = "poisson",
              gamma = "Gamma")

controls <- list(
  default = geese.control(),
  tight = geese.control(epsilon = 1e-10, maxit = 100)
)

## ---- minimal JSON writer ---------------------------------------------------

json_str <- function(s) {
  if (length(s) != 1 || is.na(s)) return("null")
  s <- enc2utf8(as.character(s))
  s <- gsub("\\", "\\\\", s, fixed = TRUE)
  s <- gsub("\"", "\\\"", s, fixed = TRUE)
  paste0("\"", s, "\"")
}
json_num <- function(x) {
  if (length(x) != 1) stop("json_num: not a scalar")
  if (is.na(x) || !is.finite(x)) return("null")
  if (is.integer(x)) return(as.character(x))
  sprintf("%.17g", x)
}
json_bool <- function(x) if (isTRUE(x)) "true" else if (identical(x, FALSE)) "false" else "null"
json_num_array <- function(x) paste0("[", paste(vapply(as.list(x), json_num, ""), collapse = ", "), "]")
json_str_array <- function(x) paste0("[", paste(vapply(as.list(x), json_str, ""), collapse = ", "), "]")
json_matrix <- function(m) {
  if (nrow(m) == 0) return("[]")
  rows <- vapply(seq_len(nrow(m)), function(i) json_num_array(m[i, ]), "")
  paste0("[\n          ", paste(rows, collapse = ",\n          "), "\n        ]")
}
json_object <- function(fields, indent = "    ") {
  body <- paste0(indent, "  ", vapply(names(fields), json_str, ""), ": ", unlist(fields))
  paste0("{\n", paste(body, collapse = ",\n"), "\n", indent, "}")
}

## ---- fitting -----------------------------------------------------------------

prepare <- function(cs) {
  d <- read.csv(file.path(root, cs$data), stringsAsFactors = TRUE,
                na.strings = c("NA", "", "NaN"))
  n_file <- nrow(d)
  # Drop the rows geeglm's model.frame drops (missing in a used variable, the
  # id or the waves), so that cluster sizes below are those of the fit.
  vars <- unique(c(all.vars(as.formula(cs$formula)), cs$idcol,
                   if (nzchar(cs$waves)) cs$waves, if (nzchar(cs$weights)) cs$weights))
  d$.row <- seq_len(nrow(d))
  d <- d[complete.cases(d[, vars, drop = FALSE]), , drop = FALSE]
  id <- d[[cs$idcol]]
  key <- if (is.factor(id)) as.integer(id) else id
  wave <- if (nzchar(cs$waves)) d[[cs$waves]] else rep(0, nrow(d))
  size <- as.vector(table(key)[as.character(key)])
  first <- if (cs$order == "singletons_first") size != 1 else rep(FALSE, nrow(d))
  d <- d[order(first, key, wave), , drop = FALSE]   # order() is stable
  rownames(d) <- NULL
  list(data = d, n_dropped = n_file - nrow(d))
}

fit_case <- function(cs, d, control) {
  env <- new.env(parent = globalenv())
  assign("d", d, envir = env)
  assign("ctl", control, envir = env)
  fml <- as.formula(cs$formula, env = env)
  fam <- call(r_family[[cs$family]], link = cs$link)
  cl <- call("geeglm", formula = fml, family = fam, data = as.name("d"),
             id = as.name(cs$idcol), corstr = cs$corstr,
             control = as.name("ctl"))
  if (nzchar(cs$waves)) cl$waves <- as.name(cs$waves)
  if (nzchar(cs$weights)) cl$weights <- as.name(cs$weights)
  # trace = TRUE makes geese print "iter = k" at the start of each iteration.
  traced <- control
  traced$trace <- 1L
  assign("ctl", traced, envir = env)
  printed <- capture.output(fit <- eval(cl, env))
  iterations <- length(grep("^iter = ", printed))
  assign("ctl", control, envir = env)
  qic <- if (cs$family %in% c("gaussian", "binomial", "poisson", "gamma"))
    QIC(fit, env = env) else NULL
  list(fit = fit, iterations = iterations, qic = qic)
}

result_json <- function(res, control) {
  fit <- res$fit
  g <- fit$geese
  s <- summary(fit)
  V <- g$vbeta
  Vn <- g$vbeta.naiv
  cf <- s$coefficients
  q <- res$qic
  fields <- list(
    epsilon = json_num(control$epsilon),
    maxit = json_num(as.integer(control$maxit)),
    # the iterations geese ran (it prints "iter = k" at the start of each)
    iterations = json_num(as.integer(res$iterations)),
    error = json_num(as.integer(g$error)),
    coefficients = json_num_array(unname(g$beta)),
    std_errors = json_num_array(unname(sqrt(diag(V)))),
    naive_std_errors = json_num_array(unname(sqrt(diag(Vn)))),
    wald = json_num_array(unname(cf[, "Wald"])),
    p_values = json_num_array(unname(cf[, "Pr(>|W|)"])),
    vcov = json_matrix(unname(V)),
    vcov_naive = json_matrix(unname(Vn)),
    alpha_names = json_str_array(names(g$alpha)),
    alpha = json_num_array(unname(g$alpha)),
    alpha_std_errors = json_num_array(if (length(g$alpha)) unname(sqrt(diag(g$valpha))) else numeric(0)),
    scale = json_num(unname(g$gamma)),
    scale_std_error = json_num(unname(sqrt(diag(g$vgamma)))),
    n_clusters = json_num(length(g$clusz)),
    max_cluster_size = json_num(as.integer(max(g$clusz))),
    # the first 5 rows used, in file order
    fitted_values = json_num_array(unname(head(fit$fitted.values[order(fit$data$.row)], 5))),
    qic = if (is.null(q)) "null" else json_object(list(
      QIC = json_num(unname(q["QIC"])), QICu = json_num(unname(q["QICu"])),
      quasi_likelihood = json_num(unname(q["Quasi Lik"])),
      CIC = json_num(unname(q["CIC"])), params = json_num(as.integer(q["params"])),
      QICC = json_num(unname(q["QICC"]))), indent = "        ")
  )
  json_object(fields, indent = "      ")
}

objs <- character(0)
log_lines <- character(0)
for (i in seq_len(nrow(cases))) {
  cs <- as.list(cases[i, ])
  prep <- prepare(cs)
  results <- lapply(controls, function(ctl) fit_case(cs, prep$data, ctl))
  tight <- results$tight$fit
  if (tight$geese$error != 0) stop(cs$id, ": geeglm did not converge with the tight control")
  fields <- list(
    id = json_str(cs$id),
    data = json_str(cs$data),
    formula = json_str(cs$formula),
    family = json_str(cs$family),
    link = json_str(cs$link),
    id_column = json_str(cs$idcol),
    waves = if (nzchar(cs$waves)) json_str(cs$waves) else "null",
    corstr = json_str(cs$corstr),
    weights = if (nzchar(cs$weights)) json_str(cs$weights) else "null",
    order = json_str(cs$order),
    n_obs = json_num(nrow(prep$data)),
    n_dropped = json_num(as.integer(prep$n_dropped)),
    coef_names = json_str_array(names(tight$geese$beta)),
    default = result_json(results$default, controls$default),
    tight = result_json(results$tight, controls$tight)
  )
  objs <- c(objs, json_object(fields))
  a <- tight$geese$alpha
  log_lines <- c(log_lines, sprintf(
    "%-30s %-8s %-8s %-12s iter=%2d/%2d n=%5d clusters=%4d max=%2d scale=%.4g alpha=%s",
    cs$id, cs$family, cs$link, cs$corstr, results$default$iterations,
    results$tight$iterations, nrow(prep$data), length(tight$geese$clusz),
    max(tight$geese$clusz), tight$geese$gamma,
    if (length(a)) paste(signif(head(a, 3), 4), collapse = ",") else "-"))
}

header <- c(
  "{",
  paste0("  \"r_version\": ", json_str(R.version.string), ","),
  paste0("  \"geepack_version\": ", json_str(as.character(packageVersion("geepack"))), ","),
  paste0("  \"collate\": ", json_str(Sys.getlocale("LC_COLLATE")), ","),
  "  \"cases\": ["
)
out <- c(header, paste0("    ", paste(objs, collapse = ",\n    ")), "  ]", "}")
writeLines(out, file.path(refdir, "gee_reference.json"), useBytes = TRUE)

cat(R.version.string, " geepack", as.character(packageVersion("geepack")), "\n")
cat(nrow(cases), "cases\n")
cat(log_lines, sep = "\n")

cat("\nfamily x structure coverage:\n")
for (f in unique(cases$family)) for (s in c("independence", "exchangeable", "ar1", "unstructured")) {
  ids <- cases$id[cases$family == f & cases$corstr == s]
  cat(sprintf("  %-9s %-13s %s\n", f, s, paste(ids, collapse = ", ")))
}
