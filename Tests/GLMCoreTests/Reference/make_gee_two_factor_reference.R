#!/usr/bin/env Rscript
# Reference numbers for GEE fits with TWO large factors, from geepack::geeglm on a real
# dataset: lme4's InstEval (Examples/insteval.csv.gz). Instructor `d` and student `s` are
# both factors (treatment contrasts, levels in C-locale order, the first level the
# reference), and the clusters are the students, so the student factor is constant within
# each cluster.
#
# The rows: the instructors with at least 150 ratings in the whole file (145 instructors,
# 33,806 ratings), then, repeated until nothing changes, keep the students with at least
# `min_student_ratings` ratings among the rows kept, and drop every instructor and every
# student whose `good` is constant in the rows kept (such a level separates the binomial
# fit: its coefficient goes to infinity). The instructors that no longer have a row drop
# out of the factor. The lists `instructors` and `students` written to the JSON give the
# rows exactly: a row is kept if and only if its d is in `instructors` and its s in
# `students`. Every formula is checked with glm() to be of full rank (no NA coefficient).
#
# Writes gee_two_factor_reference.json in the format of gee_insteval_reference.json:
# `vcov` and `vcov_naive` hold only their leading 12 × 12 block and `fitted_values` the
# first 50 rows used (in file order); every coefficient's estimate and standard errors are
# written. Exchangeable is not used: a student factor with student clusters drives the
# exchangeable alpha to the singular -1/(n - 1).
#
# Usage: Rscript Tests/GLMCoreTests/Reference/make_gee_two_factor_reference.R
# Needs geepack (1.3.9 here). Takes several minutes.

suppressPackageStartupMessages(library(geepack))
invisible(Sys.setlocale("LC_COLLATE", "C"))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
refdir <- if (length(script) == 1) dirname(normalizePath(script)) else
  file.path("Tests", "GLMCoreTests", "Reference")
root <- normalizePath(file.path(refdir, "..", "..", ".."))

min_instructor_ratings <- 150
min_student_ratings <- 18
all <- read.csv(gzfile(file.path(root, "Examples", "insteval.csv.gz")), stringsAsFactors = FALSE)
counts <- table(all$d)
d <- all[all$d %in% names(counts)[counts >= min_instructor_ratings], ]
repeat {
  n_before <- nrow(d)
  student_counts <- table(d$s)
  d <- d[d$s %in% names(student_counts)[student_counts >= min_student_ratings], ]
  varies <- tapply(d$good, d$d, function(v) length(unique(v)) > 1)
  d <- d[d$d %in% names(varies)[varies], ]
  varies <- tapply(d$good, d$s, function(v) length(unique(v)) > 1)
  d <- d[d$s %in% names(varies)[varies], ]
  if (nrow(d) == n_before) break
}
kept_instructors <- sort(unique(d$d))
kept_students <- sort(unique(d$s))
d$.row <- seq_len(nrow(d))
d$d <- factor(d$d, levels = kept_instructors)
d$s <- factor(d$s, levels = kept_students)
# Students with one rating first, then by student (order() is stable: a student's rows stay
# in file order), as in make_gee_insteval_reference.R; with min_student_ratings > 1 there
# are no one-rating students and this is just the order by student.
size <- as.vector(table(d$s)[d$s])
d <- d[order(size != 1, d$s), ]
# geese.fit finds clusters where as.numeric(id) changes: a text id would be NA throughout
# (one cluster of every row), so the id is the student's number in C-locale order.
d$sid <- as.integer(d$s)
rownames(d) <- NULL

cases <- list(
  list(id = "two_factor_binomial_independence", formula = "good ~ service + d + s", family = "binomial",
       link = "logit", corstr = "independence", weights = ""),
  list(id = "two_factor_gaussian_ar1", formula = "y ~ service + d + s", family = "gaussian",
       link = "identity", corstr = "ar1", weights = ""),
  list(id = "two_factor_poisson_independence_weights", formula = "y ~ lectage + d + s", family = "poisson",
       link = "log", corstr = "independence", weights = "studage")
)

# Full rank: glm() gives no NA coefficient for any formula (and converges).
for (cs in cases) {
  w <- if (nzchar(cs$weights)) d[[cs$weights]] else NULL
  g <- glm(as.formula(cs$formula), family = get(cs$family)(link = cs$link), data = d, weights = w)
  if (anyNA(coef(g))) stop(cs$id, ": rank deficient: ", paste(names(coef(g))[is.na(coef(g))], collapse = " "))
  if (!g$converged) stop(cs$id, ": glm did not converge")
}
source(file.path(refdir, "gee_insteval_common.R"))
write_gee_reference(
  d, cases,
  list(min_instructor_ratings = as.character(min_instructor_ratings),
       min_student_ratings = as.character(min_student_ratings),
       instructors = json_str_array(kept_instructors), students = json_str_array(kept_students)),
  file.path(refdir, "gee_two_factor_reference.json"))
cat(sprintf("rows=%d instructors=%d students=%d\n", nrow(d), length(kept_instructors), length(kept_students)))
cat(R.version.string, " geepack", as.character(packageVersion("geepack")), "\n")
