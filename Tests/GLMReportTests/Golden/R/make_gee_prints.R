#!/usr/bin/env Rscript
# geepack's printed summary of geeglm fits, for glmfit's GEE text-report parity test.
# Usage (in a UTF-8 locale): Rscript Tests/GLMReportTests/Golden/R/make_gee_prints.R
suppressMessages(library(geepack))
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
root <- normalizePath(file.path(here, "..", "..", "..", ".."))
data <- function(name) read.csv(file.path(root, "Examples", name), stringsAsFactors = TRUE)
# print.summary.geeglm sets options(digits = 4) as a side effect; print each in a fresh state.
save <- function(x, name) {
  options(digits = 7)
  writeLines(capture.output(print(summary(x))), file.path(here, name))
}
ohio <- data("ohio.csv")
save(geeglm(resp ~ age + smoke, id = id, data = ohio, family = binomial, corstr = "exchangeable"), "gee_ohio.txt")
epil <- data("epil.csv")
epil <- epil[order(epil$subject, epil$period), ]
save(geeglm(y ~ lbase * trt + lage + V4, id = subject, waves = period, data = epil, family = poisson,
            corstr = "ar1"), "gee_epil.txt")
save(geeglm(resp ~ age + smoke, id = id, data = ohio, family = binomial, corstr = "independence"), "gee_ohio_independence.txt")
