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
source(file.path(refdir, "gee_insteval_common.R"))
write_gee_reference(d, cases, list(min_ratings = as.character(min_ratings), levels = json_str_array(kept_levels)),
                    file.path(refdir, "gee_insteval_reference.json"))
cat(R.version.string, " geepack", as.character(packageVersion("geepack")), "\n")
