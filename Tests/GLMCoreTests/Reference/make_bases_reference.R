#!/usr/bin/env Rscript
# Reference numbers for factor functions, contrasts and bases (issue 24): every case of
# bases_cases.tsv fitted by glm() under two collations, LC_COLLATE=C (byte order) and
# C.UTF-8 (R's ICU collation), with the case's options(contrasts =), plus predict() on
# the data's first five rows alone (bases_data/<stem>_head.csv).
#
# Usage: Rscript Tests/GLMCoreTests/Reference/make_bases_reference.R
# (R 4.2.2 with MASS and splines; run from the repository root.)
library(splines)
dir <- "Tests/GLMCoreTests/Reference"
cases <- read.delim(file.path(dir, "bases_cases.tsv"), stringsAsFactors = FALSE, quote = "", na.strings = character())
num <- function(x) if (length(x) == 0) "[]" else paste0("[", paste(ifelse(is.na(x), "null", sprintf("%.17g", x)), collapse = ","), "]")
str <- function(x) paste0("[", paste(sprintf("\"%s\"", gsub("\"", "\\\\\"", x)), collapse = ","), "]")
# Rows beyond the fit's range (hp, disp and wt below and above mtcars' own), for the
# bases' behaviour outside their boundary knots (ns linear, bs R's Taylor extrapolation).
outside_path <- file.path(dir, "bases_data", "mtcars_outside.csv")
local({
  d <- read.csv("Examples/mtcars.csv")
  o <- d[c(1, 3, 5), ]
  o$hp <- c(30, 400, 120); o$disp <- c(40, 520, 160); o$wt <- c(1.2, 6, 3)
  write.csv(o, outside_path, row.names = FALSE)
})
out <- character()
for (collate in c("C", "C.UTF-8")) {
  Sys.setlocale("LC_COLLATE", collate)
  for (i in seq_len(nrow(cases))) {
    case <- cases[i, ]
    head_path <- file.path(dir, "bases_data", paste0(sub("\\.csv$", "", basename(case$data)), "_head.csv"))
    writeLines(readLines(case$data, n = 6), head_path)
    d <- read.csv(case$data, stringsAsFactors = TRUE, na.strings = c("NA", "", "NaN"))
    newdata <- read.csv(head_path, stringsAsFactors = TRUE, na.strings = c("NA", "", "NaN"))
    # New data's factors with the fit's levels, as glmfit reads new data against the model.
    for (name in names(newdata)) if (is.factor(d[[name]])) newdata[[name]] <- factor(as.character(newdata[[name]]), levels = levels(d[[name]]))
    options(contrasts = if (nzchar(case$contrasts)) strsplit(case$contrasts, ",")[[1]] else c("contr.treatment", "contr.poly"))
    fam <- switch(case$family, gaussian = gaussian(), poisson = poisson(), binomial = binomial())
    fit <- glm(as.formula(case$formula), family = fam, data = d)
    s <- summary(fit)
    co <- coef(s)
    se <- rep(NA_real_, length(coef(fit)))
    names(se) <- names(coef(fit))
    se[rownames(co)] <- co[, 2]
    # cut() in a formula: R's own predict() fails (it cuts the new rows by their own range),
    # so the reference is the fit's linear predictor on those rows, which glmfit must give.
    predicted <- tryCatch(suppressWarnings(unname(predict(fit, newdata = newdata))), error = function(e) NULL)
    source <- "predict"
    if (is.null(predicted) || grepl("cut(", case$formula, fixed = TRUE)) {
      predicted <- unname(fit$linear.predictors[as.character(1:5)])
      source <- "linear.predictors"
    }
    outside <- NULL
    if (case$data == "Examples/mtcars.csv" && !grepl("cut(", case$formula, fixed = TRUE)) {
      o <- read.csv(outside_path, stringsAsFactors = TRUE)
      outside <- tryCatch(suppressWarnings(unname(predict(fit, newdata = o))), error = function(e) NULL)
    }
    out <- c(out, paste0("{\"id\":\"", case$id, "_", if (collate == "C") "C" else "icu", "\",",
      "\"data\":\"", case$data, "\",\"formula\":\"", gsub("\"", "\\\\\"", case$formula), "\",",
      "\"family\":\"", case$family, "\",\"contrasts\":\"", case$contrasts, "\",\"collate\":\"", collate, "\",",
      "\"newdata\":\"", head_path, "\",\"prediction_source\":\"", source, "\",",
      "\"coef_names\":", str(names(coef(fit))), ",\"coefficients\":", num(unname(coef(fit))), ",",
      "\"std_errors\":", num(unname(se)), ",\"deviance\":", sprintf("%.17g", deviance(fit)), ",",
      "\"aic\":", sprintf("%.17g", AIC(fit)), ",\"n_obs\":", nobs(fit), ",",
      "\"predictions\":", num(predicted), ",",
      "\"outside_newdata\":", if (is.null(outside)) "null" else paste0("\"", outside_path, "\""), ",",
      "\"outside_predictions\":", if (is.null(outside)) "null" else num(outside), "}"))
  }
}
writeLines(c(paste0("{\"r_version\":\"", R.version$major, ".", R.version$minor, "\",\"cases\":["), paste(out, collapse = ",\n"), "]}"),
           file.path(dir, "bases_reference.json"))
cat("wrote", length(out), "cases\n")
