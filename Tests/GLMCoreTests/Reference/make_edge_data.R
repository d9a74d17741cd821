#!/usr/bin/env Rscript
# Edge-case datasets for glmfit's numerical tests, derived from the real datasets in
# Examples/ (MASS's cats and menarche, mtcars, Dobson's counts). Each derived column is
# named for what it tests. Writes edge_data/*.csv next to this script.
#
# Usage: Rscript Tests/GLMCoreTests/Reference/make_edge_data.R
args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
refdir <- dirname(normalizePath(script))
root <- normalizePath(file.path(refdir, "..", "..", ".."))
example <- function(name) read.csv(file.path(root, "Examples", name), stringsAsFactors = FALSE)
out <- function(d, name) write.csv(d, file.path(refdir, "edge_data", name), row.names = FALSE)

# cats: zero weights, a constant column, huge and tiny magnitudes.
cats <- example("cats.csv")
cats$w <- ifelse(seq_len(nrow(cats)) %% 10 == 0, 0, 1)
cats$one <- 1
cats$Bwt_big <- cats$Bwt * 1e8
cats$Hwt_tiny <- cats$Hwt * 1e-8
cats$Bwt_tiny <- cats$Bwt * 1e-6
out(cats, "cats_edge.csv")

# menarche: binomial proportions with two groups given zero weight.
menarche <- example("menarche.csv")
menarche$Total0 <- menarche$Total
menarche$Total0[c(3, 7)] <- 0
out(menarche, "menarche_zero_weights.csv")

# mtcars: the first 12 cars only, so 11 coefficients leave one residual df.
mtcars12 <- example("mtcars.csv")[1:12, ]
out(mtcars12, "mtcars_12.csv")

# Dobson's design with a response that is zero everywhere.
dobson <- example("dobson.csv")
dobson$zeros <- 0
out(dobson, "dobson_zeros.csv")
