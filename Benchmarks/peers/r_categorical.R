#!/usr/bin/env Rscript
# Peer for the multinomial and ordinal benchmark: nnet::multinom or MASS::polr on a file read
# by data.table::fread. Usage: r_categorical.R FILE multinomial|ordinal
suppressPackageStartupMessages({ library(data.table); library(nnet); library(MASS) })
args <- commandArgs(trailingOnly = TRUE)
d <- as.data.frame(fread(args[1]))
rhs <- paste(paste0("x", 1:10), collapse = " + ")
if (args[2] == "multinomial") {
  fit <- multinom(as.formula(paste("factor(y) ~", rhs)), data = d, Hess = TRUE, trace = FALSE, maxit = 1000)
  s <- summary(fit)
} else {
  fit <- polr(as.formula(paste("factor(o) ~", rhs)), data = d, Hess = TRUE)
  s <- summary(fit)
}
cat(format(logLik(fit), digits = 12), "\n")
