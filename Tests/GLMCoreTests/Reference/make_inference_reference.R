#!/usr/bin/env Rscript
# Reference numbers for glmfit's inference tests: profile-likelihood intervals
# (MASS confint.glm / profile.glm), analysis of deviance (anova.glm, drop1.glm,
# anova(reduced, full)) and Wald tests of linear hypotheses (car::linearHypothesis).
#
# Models: every case of cases.tsv plus inference_cases.tsv (same columns).
# Comparisons: comparisons.tsv (id, case, reduced formula, test).
# Hypotheses: hypotheses.tsv (id, case, glmfit restriction text, the same
# hypothesis as an R expression for car, test).
#
# Writes inference_reference.json next to this script.
# Usage (from anywhere):  Rscript Tests/GLMCoreTests/Reference/make_inference_reference.R
# Needs R (4.2.2 was used) with MASS and car.

suppressPackageStartupMessages({
  library(MASS)
  library(car)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
refdir <- if (length(script) == 1) dirname(normalizePath(script)) else
  file.path("Tests", "GLMCoreTests", "Reference")
root <- normalizePath(file.path(refdir, "..", "..", ".."))

read_tsv <- function(name) read.delim(file.path(refdir, name), sep = "\t", quote = "",
                                      colClasses = "character", na.strings = character(0),
                                      comment.char = "")
cases <- rbind(read_tsv("cases.tsv"), read_tsv("inference_cases.tsv"))
stopifnot(!anyDuplicated(cases$id))
comparisons <- read_tsv("comparisons.tsv")
hypotheses <- read_tsv("hypotheses.tsv")

r_family <- c(gaussian = "gaussian", binomial = "binomial", poisson = "poisson",
              gamma = "Gamma", "inverse-gaussian" = "inverse.gaussian",
              quasipoisson = "quasipoisson", quasibinomial = "quasibinomial")

# Profile intervals at a second level for these cases.
other_levels <- c(binomial_budworm_interaction = 0.9, binomial_esoph_agegp = 0.99,
                  gamma_clotting_inverse = 0.8, quasipoisson_quine = 0.9)

## ---- minimal JSON writer (as make_reference.R) ------------------------------

json_str <- function(s) {
  if (length(s) != 1 || is.na(s)) return("null")
  s <- enc2utf8(as.character(s))
  s <- gsub("\\", "\\\\", s, fixed = TRUE)
  s <- gsub("\"", "\\\"", s, fixed = TRUE)
  s <- gsub("\n", "\\n", s, fixed = TRUE)
  s <- gsub("\t", "\\t", s, fixed = TRUE)
  paste0("\"", s, "\"")
}
json_num <- function(x) {
  if (length(x) != 1) stop("json_num: not a scalar")
  if (is.na(x) || !is.finite(x)) return("null")
  if (is.integer(x)) return(as.character(x))
  sprintf("%.17g", x)
}
json_num_array <- function(x) paste0("[", paste(vapply(as.list(x), json_num, ""), collapse = ", "), "]")
json_str_array <- function(x) paste0("[", paste(vapply(as.list(x), json_str, ""), collapse = ", "), "]")
json_object <- function(fields) {
  fields <- fields[!vapply(fields, is.null, NA)]
  paste0("{", paste(paste0(vapply(names(fields), json_str, ""), ": ", unlist(fields)), collapse = ", "), "}")
}
json_array <- function(items) paste0("[", paste(items, collapse = ",\n  "), "]")

## ---- helpers -------------------------------------------------------------------

# Runs expr, collecting warnings (R's messages, in order) and any error message.
capture <- function(expr) {
  warns <- character(0)
  value <- tryCatch(
    withCallingHandlers(expr, warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    }, message = function(m) invokeRestart("muffleMessage")),
    error = function(e) structure(conditionMessage(e), class = "fit_error"))
  list(value = value, warnings = unique(warns))
}
is_error <- function(x) inherits(x, "fit_error")

read_data <- function(path) read.csv(file.path(root, path), stringsAsFactors = TRUE,
                                     na.strings = c("NA", "", "NaN"))

fit_model <- function(formula, family, link, weights, d) {
  fam <- get(r_family[[family]])(link = link)
  env <- new.env(parent = globalenv())
  env$d <- d
  fml <- as.formula(formula, env = env)
  cl <- call("glm", formula = fml, family = fam, data = quote(d))
  if (nzchar(weights)) cl$weights <- as.name(weights)
  suppressWarnings(eval(cl, env))
}

col_or_na <- function(tab, name) if (name %in% names(tab)) tab[[name]] else rep(NA_real_, nrow(tab))

anova_json <- function(fit, test) {
  res <- capture(anova(fit, test = test))
  if (is_error(res$value)) return(json_object(list(error = json_str(res$value))))
  tab <- res$value
  dispersion <- summary(fit)$dispersion
  stat <- if (test == "F") tab[["F"]] else tab[["Deviance"]] / dispersion
  if (test != "F") stat[is.na(tab[["Pr(>Chi)"]])] <- NA
  json_object(list(
    test = json_str(test),
    terms = json_str_array(rownames(tab)),
    df = json_num_array(tab[["Df"]]),
    deviance = json_num_array(tab[["Deviance"]]),
    resid_df = json_num_array(tab[["Resid. Df"]]),
    resid_deviance = json_num_array(tab[["Resid. Dev"]]),
    statistic = json_num_array(stat),
    p_value = json_num_array(if (test == "F") tab[["Pr(>F)"]] else tab[["Pr(>Chi)"]]),
    dispersion = json_num(dispersion),
    warnings = json_str_array(res$warnings)))
}

drop1_json <- function(fit, test) {
  res <- capture(drop1(fit, test = test))
  if (is_error(res$value)) return(json_object(list(error = json_str(res$value))))
  tab <- res$value
  stat_name <- intersect(c("LRT", "scaled dev.", "F value"), names(tab))
  json_object(list(
    test = json_str(test),
    terms = json_str_array(rownames(tab)),
    df = json_num_array(tab[["Df"]]),
    deviance = json_num_array(tab[["Deviance"]]),
    aic = json_num_array(col_or_na(tab, "AIC")),
    statistic_name = json_str(stat_name),
    statistic = json_num_array(tab[[stat_name]]),
    p_value = json_num_array(if (test == "F") tab[["Pr(>F)"]] else tab[["Pr(>Chi)"]]),
    warnings = json_str_array(res$warnings)))
}

profile_json <- function(fit, level) {
  res <- capture(confint(fit, level = level))
  if (is_error(res$value)) return(json_object(list(level = json_num(level), error = json_str(res$value))))
  ci <- res$value
  if (is.null(dim(ci))) ci <- matrix(ci, nrow = 1)
  # The grid MASS interpolates over: profile(fit, alpha = (1 - level)/4).
  prof <- suppressWarnings(suppressMessages(profile(fit, alpha = (1 - level) / 4)))
  nm <- names(coef(fit))
  grids <- vapply(seq_along(nm), function(j) {
    p <- prof[[nm[j]]]
    if (is.null(p)) return("null")
    pv <- p$par.vals
    x <- if (is.null(dim(pv))) pv else pv[, j]
    json_object(list(x = json_num_array(x), z = json_num_array(p[[1]])))
  }, "")
  json_object(list(
    level = json_num(level),
    low = json_num_array(unname(ci[, 1])),
    high = json_num_array(unname(ci[, 2])),
    warnings = json_str_array(res$warnings),
    grids = paste0("[", paste(grids, collapse = ", "), "]")))
}

## ---- models ----------------------------------------------------------------------

fits <- list()
model_objs <- character(0)
for (i in seq_len(nrow(cases))) {
  cs <- as.list(cases[i, ])
  d <- read_data(cs$data)
  fit <- fit_model(cs$formula, cs$family, cs$link, cs$weights, d)
  fits[[cs$id]] <- list(fit = fit, data = d, case = cs)
  fixed <- cs$family %in% c("binomial", "poisson")
  profiles <- profile_json(fit, 0.95)
  if (!is.na(other_levels[cs$id])) profiles <- c(profiles, profile_json(fit, other_levels[[cs$id]]))
  fields <- list(
    id = json_str(cs$id), data = json_str(cs$data), formula = json_str(cs$formula),
    family = json_str(cs$family), link = json_str(cs$link),
    weights = if (nzchar(cs$weights)) json_str(cs$weights) else "null",
    coef_names = json_str_array(names(coef(fit))),
    coefficients = json_num_array(unname(coef(fit))),
    deviance = json_num(fit$deviance),
    dispersion = json_num(summary(fit)$dispersion),
    profiles = paste0("[", paste(profiles, collapse = ", "), "]"),
    anova_chisq = anova_json(fit, "Chisq"),
    anova_f = anova_json(fit, "F"),
    drop1_lrt = drop1_json(fit, "LRT"),
    drop1_f = drop1_json(fit, "F"))
  model_objs <- c(model_objs, json_object(fields))
  cat(sprintf("%-38s profile/anova/drop1 done\n", cs$id))
}

## ---- nested comparisons ------------------------------------------------------------

comparison_objs <- character(0)
for (i in seq_len(nrow(comparisons))) {
  cmp <- as.list(comparisons[i, ])
  full <- fits[[cmp$case]]
  # The reduced model on exactly the rows the full model used.
  rows <- as.integer(rownames(full$fit$model))
  sub <- full$data[rows, , drop = FALSE]
  reduced <- fit_model(cmp$reduced, full$case$family, full$case$link, full$case$weights, sub)
  stopifnot(length(reduced$residuals) == length(full$fit$residuals))
  res <- capture(anova(reduced, full$fit, test = cmp$test))
  tab <- res$value
  big <- if (full$fit$df.residual <= reduced$df.residual) full$fit else reduced
  dispersion <- summary(big)$dispersion
  stat <- if (cmp$test == "F") tab[["F"]] else tab[["Deviance"]] / dispersion
  if (cmp$test != "F") stat[is.na(tab[["Pr(>Chi)"]])] <- NA
  comparison_objs <- c(comparison_objs, json_object(list(
    id = json_str(cmp$id), case = json_str(cmp$case), reduced = json_str(cmp$reduced),
    test = json_str(cmp$test),
    resid_df = json_num_array(tab[["Resid. Df"]]),
    resid_deviance = json_num_array(tab[["Resid. Dev"]]),
    df = json_num_array(tab[["Df"]]),
    deviance = json_num_array(tab[["Deviance"]]),
    statistic = json_num_array(stat),
    p_value = json_num_array(if (cmp$test == "F") tab[["Pr(>F)"]] else tab[["Pr(>Chi)"]]),
    dispersion = json_num(dispersion),
    warnings = json_str_array(res$warnings))))
}

## ---- linear hypotheses (car) ------------------------------------------------------

hypothesis_objs <- character(0)
for (i in seq_len(nrow(hypotheses))) {
  h <- as.list(hypotheses[i, ])
  fit <- fits[[h$case]]$fit
  spec <- eval(parse(text = h$car))
  res <- capture(linearHypothesis(fit, spec, test = h$test, singular.ok = TRUE))
  if (is_error(res$value)) stop(h$id, ": ", res$value)
  tab <- res$value
  hypothesis_objs <- c(hypothesis_objs, json_object(list(
    id = json_str(h$id), case = json_str(h$case), restrictions = json_str(h$restrictions),
    test = json_str(h$test),
    res_df = json_num_array(tab[["Res.Df"]]),
    df = json_num(tab[["Df"]][2]),
    statistic = json_num(tab[[h$test]][2]),
    p_value = json_num(tab[[paste0("Pr(>", h$test, ")")]][2]),
    value = json_num_array(as.vector(attr(tab, "value"))),
    vcov = json_num_array(as.vector(attr(tab, "vcov"))))))
}

out <- c(
  "{",
  paste0("\"r_version\": ", json_str(R.version.string), ","),
  paste0("\"mass_version\": ", json_str(as.character(packageVersion("MASS"))), ","),
  paste0("\"car_version\": ", json_str(as.character(packageVersion("car"))), ","),
  paste0("\"models\": ", json_array(model_objs), ","),
  paste0("\"comparisons\": ", json_array(comparison_objs), ","),
  paste0("\"hypotheses\": ", json_array(hypothesis_objs)),
  "}")
writeLines(out, file.path(refdir, "inference_reference.json"), useBytes = TRUE)
cat(length(model_objs), "models,", length(comparison_objs), "comparisons,",
    length(hypothesis_objs), "hypotheses\n")
