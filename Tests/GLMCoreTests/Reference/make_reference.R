#!/usr/bin/env Rscript
# Reference numbers for glmfit's tests, computed with R's own glm().
#
# Reads cases.tsv (next to this script), fits every case with glm() and the
# default glm.control(), and writes
#   glm_reference.json        all numbers, one object per case
#   r_summaries/<id>.txt      R's printed summary(fit) for each case
#
# Usage (from anywhere):  Rscript Tests/GLMCoreTests/Reference/make_reference.R
#                         [cases.tsv glm_reference.json r_summaries]
# The optional arguments name another case list, output file and summaries
# folder (relative to this folder): edge_cases.tsv holds the numerical edge
# cases, which may set glm.control(maxit=, epsilon=) in optional columns.
#
# The JSON is written by hand (no jsonlite): numbers with sprintf("%.17g"),
# so every double round-trips exactly; NA, NaN and +-Inf are written as null.

# glmfit sorts factor levels in byte order; make R do the same.
invisible(Sys.setlocale("LC_COLLATE", "C"))
# The committed summaries were printed in a UTF-8 locale (C.UTF-8), where R
# writes the significance-code legend with curly quotes; elsewhere R uses
# ASCII quotes and the text files would differ in that one line.
if (!isTRUE(l10n_info()$`UTF-8`))
  message("note: not a UTF-8 locale; r_summaries/ will use ASCII quotes")

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
refdir <- if (length(script) == 1) dirname(normalizePath(script)) else
  file.path("Tests", "GLMCoreTests", "Reference")
root <- normalizePath(file.path(refdir, "..", "..", ".."))

targs <- commandArgs(trailingOnly = TRUE)
cases_file <- if (length(targs) >= 1) targs[1] else "cases.tsv"
output_file <- if (length(targs) >= 2) targs[2] else "glm_reference.json"
summaries_dir <- if (length(targs) >= 3) targs[3] else "r_summaries"
main_cases <- cases_file == "cases.tsv"

cases <- read.delim(file.path(refdir, cases_file), sep = "\t", quote = "",
                    colClasses = "character", na.strings = character(0),
                    comment.char = "")
stopifnot(identical(names(cases)[1:6],
                    c("id", "data", "formula", "family", "link", "weights")),
          all(names(cases)[-(1:6)] %in% c("maxit", "epsilon", "vcov_max")),
          !anyDuplicated(cases$id))
for (opt in c("maxit", "epsilon", "vcov_max")) if (is.null(cases[[opt]])) cases[[opt]] <- ""

# Every family/link pair R's glm allows (glmfit spelling -> R links).
allowed <- list(
  gaussian = c("identity", "log", "inverse"),
  binomial = c("logit", "probit", "cauchit", "log", "cloglog"),
  quasibinomial = c("logit", "probit", "cauchit", "log", "cloglog"),
  poisson = c("log", "identity", "sqrt"),
  quasipoisson = c("log", "identity", "sqrt"),
  gamma = c("inverse", "identity", "log"),
  "inverse-gaussian" = c("1/mu^2", "inverse", "identity", "log"))

r_family <- c(gaussian = "gaussian", binomial = "binomial", poisson = "poisson",
              gamma = "Gamma", "inverse-gaussian" = "inverse.gaussian",
              quasipoisson = "quasipoisson", quasibinomial = "quasibinomial")

## ---- minimal JSON writer ---------------------------------------------------

json_str <- function(s) {
  if (length(s) != 1 || is.na(s)) return("null")
  s <- enc2utf8(as.character(s))
  s <- gsub("\\", "\\\\", s, fixed = TRUE)
  s <- gsub("\"", "\\\"", s, fixed = TRUE)
  s <- gsub("\n", "\\n", s, fixed = TRUE)
  s <- gsub("\r", "\\r", s, fixed = TRUE)
  s <- gsub("\t", "\\t", s, fixed = TRUE)
  # any other control character
  chars <- strsplit(s, "")[[1]]
  ctrl <- vapply(chars, function(ch) utf8ToInt(ch) < 32L, NA)
  if (any(ctrl)) chars[ctrl] <- sprintf("\\u%04x", vapply(chars[ctrl], utf8ToInt, 0L))
  paste0("\"", paste(chars, collapse = ""), "\"")
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
  paste0("[\n        ", paste(rows, collapse = ",\n        "), "\n      ]")
}
json_object <- function(fields, indent = "    ") {
  body <- paste0(indent, "  ", json_str_names(names(fields)), ": ", unlist(fields))
  paste0("{\n", paste(body, collapse = ",\n"), "\n", indent, "}")
}
json_str_names <- function(n) vapply(n, json_str, "")

## ---- fitting -----------------------------------------------------------------

# Values for every name in `names`, NA where the name is absent (aliased).
by_name <- function(values, names) {
  out <- rep(NA_real_, length(names))
  names(out) <- names
  hit <- intersect(names(values), names)
  out[hit] <- values[hit]
  out
}

first_n <- function(x, n = 5) unname(x[seq_len(min(n, length(x)))])

fit_case <- function(cs) {
  path <- file.path(root, cs$data)
  d <- read.csv(path, stringsAsFactors = TRUE, na.strings = c("NA", "", "NaN"))
  rfam <- r_family[[cs$family]]
  if (is.null(rfam)) stop("unknown family ", cs$family)

  # Build the call so that summary() prints a readable Call: line, e.g.
  #   glm(formula = y ~ x, family = poisson(link = "log"), data = ships)
  # This is the same fit as glm(as.formula(formula), family = fam(link = link),
  # data = d, weights = <column or NULL>).
  stem <- sub("\\.csv(\\.gz)?$", "", basename(cs$data))
  env <- new.env(parent = globalenv())
  assign(stem, d, envir = env)
  fml <- as.formula(cs$formula, env = env)
  cl <- call("glm", formula = fml, family = call(rfam, link = cs$link),
             data = as.name(stem))
  if (nzchar(cs$weights)) cl$weights <- as.name(cs$weights)
  if (nzchar(cs$maxit) || nzchar(cs$epsilon)) {
    ctl <- call("glm.control")
    if (nzchar(cs$maxit)) ctl$maxit <- as.integer(cs$maxit)
    if (nzchar(cs$epsilon)) ctl$epsilon <- as.numeric(cs$epsilon)
    cl$control <- ctl
  }

  warns <- character(0)
  fit <- withCallingHandlers(
    eval(cl, env),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  list(fit = fit, warnings = warns, data = d)
}

case_json <- function(cs, res) {
  fit <- res$fit
  s <- summary(fit)
  cf <- coef(fit)                         # NA for aliased
  nm <- names(cf)
  sc <- s$coefficients                    # rows for non-aliased only
  est <- by_name(sc[, 1], nm)
  se  <- by_name(sc[, 2], nm)
  st  <- by_name(sc[, 3], nm)
  pv  <- by_name(sc[, 4], nm)
  ci  <- confint.default(fit, level = 0.95)
  ci_lo <- by_name(ci[, 1], nm); ci_lo[is.na(cf)] <- NA
  ci_hi <- by_name(ci[, 2], nm); ci_hi[is.na(cf)] <- NA
  V <- vcov(fit, complete = FALSE)
  # A model with thousands of coefficients would write millions of covariances:
  # with vcov_max = k only the leading k x k block is written (vcov_full_size
  # says how many there are), the standard errors still give every diagonal.
  vcov_full_size <- ncol(V)
  truncated <- nzchar(cs$vcov_max) && ncol(V) > as.integer(cs$vcov_max)
  if (truncated) {
    keep <- seq_len(as.integer(cs$vcov_max))
    V <- V[keep, keep, drop = FALSE]
  }
  ll <- tryCatch(as.numeric(logLik(fit)), error = function(e) NA_real_)
  bic <- tryCatch(BIC(fit), error = function(e) NA_real_)
  aic <- if (is.null(fit$aic)) NA_real_ else fit$aic
  n_obs <- nrow(fit$model)
  n_dropped <- if (is.null(fit$na.action)) 0L else length(fit$na.action)
  stopifnot(n_obs + n_dropped == nrow(res$data))

  fields <- list(
    id = json_str(cs$id),
    data = json_str(cs$data),
    formula = json_str(cs$formula),
    family = json_str(cs$family),
    link = json_str(cs$link),
    weights = if (nzchar(cs$weights)) json_str(cs$weights) else "null",
    maxit = if (nzchar(cs$maxit)) cs$maxit else "null",
    epsilon = if (nzchar(cs$epsilon)) cs$epsilon else "null",
    n_obs = json_num(as.integer(n_obs)),
    n_dropped = json_num(as.integer(n_dropped)),
    coef_names = json_str_array(nm),
    aliased = paste0("[", paste(ifelse(is.na(cf), "true", "false"), collapse = ", "), "]"),
    coefficients = json_num_array(unname(cf)),
    std_errors = json_num_array(unname(se)),
    statistic_name = json_str(colnames(sc)[3]),
    statistics = json_num_array(unname(st)),
    p_values = json_num_array(unname(pv)),
    conf_low = json_num_array(unname(ci_lo)),
    conf_high = json_num_array(unname(ci_hi)),
    dispersion = json_num(s$dispersion),
    deviance = json_num(fit$deviance),
    null_deviance = json_num(fit$null.deviance),
    df_residual = json_num(as.integer(fit$df.residual)),
    df_null = json_num(as.integer(fit$df.null)),
    aic = json_num(aic),
    bic = json_num(bic),
    log_likelihood = json_num(ll),
    iterations = json_num(as.integer(fit$iter)),
    converged = json_bool(fit$converged),
    boundary = json_bool(fit$boundary),
    rank = json_num(as.integer(fit$rank)),
    vcov_names = json_str_array(colnames(V)),
    vcov = json_matrix(unname(V)),
    fitted_values = json_num_array(first_n(fit$fitted.values)),
    working_weights = json_num_array(first_n(fit$weights)),
    warnings = json_str_array(res$warnings)
  )
  if (truncated) fields$vcov_full_size <- json_num(as.integer(vcov_full_size))
  json_object(fields)
}

dir.create(file.path(refdir, summaries_dir), showWarnings = FALSE)
objs <- character(0)
log_lines <- character(0)
for (i in seq_len(nrow(cases))) {
  cs <- as.list(cases[i, ])
  res <- tryCatch(fit_case(cs), error = function(e)
    stop(cs$id, ": glm failed: ", conditionMessage(e), call. = FALSE))
  fit <- res$fit
  if (!fit$converged && !nzchar(cs$maxit)) stop(cs$id, ": glm did not converge")
  objs <- c(objs, case_json(cs, res))
  writeLines(capture.output(print(summary(fit))),
             file.path(refdir, summaries_dir, paste0(cs$id, ".txt")))
  msg <- sprintf("%-38s %-16s %-8s iter=%2d rank=%2d/%2d n=%d%s",
                 cs$id, cs$family, cs$link, fit$iter, fit$rank,
                 length(coef(fit)), nrow(fit$model),
                 if (length(res$warnings))
                   paste0("\n    warnings: ", paste(unique(res$warnings), collapse = " | "))
                 else "")
  log_lines <- c(log_lines, msg)
}

header <- c(
  "{",
  paste0("  \"r_version\": ", json_str(R.version.string), ","),
  paste0("  \"glm_control\": {\"epsilon\": ", json_num(glm.control()$epsilon),
         ", \"maxit\": ", json_num(as.integer(glm.control()$maxit)), "},"),
  paste0("  \"collate\": ", json_str(Sys.getlocale("LC_COLLATE")), ","),
  "  \"cases\": ["
)
out <- c(header, paste0("    ", paste(objs, collapse = ",\n    ")), "  ]", "}")
writeLines(out, file.path(refdir, output_file), useBytes = TRUE)

cat(R.version.string, "\n")
cat(nrow(cases), "cases\n")
cat(log_lines, sep = "\n")

if (!main_cases) quit(save = "no")
cat("\nfamily/link coverage:\n")
missing <- character(0)
for (f in names(allowed)) for (l in allowed[[f]]) {
  ids <- cases$id[cases$family == f & cases$link == l]
  if (!length(ids)) missing <- c(missing, paste(f, l))
  cat(sprintf("  %-16s %-8s %s\n", f, l, paste(ids, collapse = ", ")))
}
extra <- cases$id[!mapply(function(f, l) l %in% allowed[[f]], cases$family, cases$link)]
if (length(extra)) stop("cases with a family/link pair R does not allow: ", paste(extra, collapse = ", "))
if (length(missing)) stop("family/link pairs without a case: ", paste(missing, collapse = "; "))
cat(length(unique(cases$data)), "datasets used\n")
