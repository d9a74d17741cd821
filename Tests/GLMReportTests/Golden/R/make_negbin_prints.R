#!/usr/bin/env Rscript
# R's printed summary of glm.nb fits, for glmfit's text-report parity test.
# Usage (in a UTF-8 locale): Rscript Tests/GLMReportTests/Golden/R/make_negbin_prints.R
suppressMessages(library(MASS))
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
root <- normalizePath(file.path(here, "..", "..", "..", ".."))
quine <- read.csv(file.path(root, "Examples", "quine.csv"), stringsAsFactors = TRUE)
epil <- read.csv(file.path(root, "Examples", "epil.csv"), stringsAsFactors = TRUE)
writeLines(capture.output(print(summary(glm.nb(Days ~ Sex/(Age + Eth*Lrn), data = quine)))),
           file.path(here, "negbin_quine.txt"))
writeLines(capture.output(print(summary(glm.nb(y ~ lbase*trt + lage + V4, data = epil)))),
           file.path(here, "negbin_epil.txt"))
