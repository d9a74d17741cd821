#!/usr/bin/env Rscript
# R's printed anova(), drop1() and anova(reduced, full) tables, for glmfit's text-report
# parity tests. Usage (in a UTF-8 locale):
#   Rscript Tests/GLMReportTests/Golden/R/make_anova_prints.R
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
root <- normalizePath(file.path(here, "..", "..", "..", ".."))
data <- function(name) read.csv(file.path(root, "Examples", name), stringsAsFactors = TRUE)
save <- function(x, name) writeLines(capture.output(print(x)), file.path(here, name))

dobson <- data("dobson.csv")
fit <- glm(counts ~ outcome + treatment, family = poisson(), data = dobson)
save(anova(fit, test = "Chisq"), "anova_dobson.txt")
save(drop1(fit, test = "LRT"), "drop1_dobson.txt")
save(anova(glm(counts ~ outcome, family = poisson(), data = dobson), fit, test = "Chisq"), "compare_dobson.txt")

quine <- data("quine.csv")
fit <- glm(Days ~ Sex*Age + Eth, family = quasipoisson(), data = quine)
save(anova(fit, test = "F"), "anova_quine.txt")
save(drop1(fit, test = "F"), "drop1_quine.txt")
save(anova(glm(Days ~ Sex + Eth, family = quasipoisson(), data = quine), fit, test = "F"), "compare_quine.txt")

budworm <- data("budworm.csv")
fit <- glm(cbind(numdead, 20 - numdead) ~ sex*ldose, family = binomial(), data = budworm)
save(anova(fit, test = "Chisq"), "anova_budworm.txt")
save(drop1(fit, test = "LRT"), "drop1_budworm.txt")
