#!/usr/bin/env Rscript
# Reference numbers for `glmfit predict --se` from a model fitted by blocks (a factor of
# more than 1,000 levels, whose covariance matrix --save stores by blocks): R's
# predict.glm(newdata, se.fit = TRUE) on a subset of lme4's InstEval.
#
# The data: InstEval's ratings (y, 1-5) with the instructor (d, 1,128 levels), whether the
# course is a service course (service, 0/1) and the lecture's age (lectage, 1-6, used as a
# number); the first 10 ratings of every instructor, in InstEval's row order, are the
# training rows, and the next 2 ratings of every 10th instructor that has them are the new
# rows.
#
# Writes, next to this script:
#   blocks_prediction/insteval_train.csv, blocks_prediction/insteval_new.csv
#   blocks_prediction_reference.json: per model, R's fit and se.fit on the link scale
#   (and the response scale for the logistic model) and the residual scale.
#
# Usage: Rscript Tests/glmfitTests/Reference/make_blocks_prediction_reference.R
# Needs R with lme4 (Debian r-cran-lme4). Takes a few minutes: glm's QR of an
# 11,000 x 1,130 model matrix. Numbers with sprintf("%.17g").

suppressPackageStartupMessages(library(lme4))
args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
refdir <- dirname(normalizePath(script))
datadir <- file.path(refdir, "blocks_prediction")
dir.create(datadir, showWarnings = FALSE)

all <- data.frame(
  y = as.integer(InstEval$y),
  d = as.integer(as.character(InstEval$d)),
  service = as.integer(as.character(InstEval$service)),
  lectage = as.integer(InstEval$lectage))
rank_in_d <- ave(seq_len(nrow(all)), all$d, FUN = seq_along)
train <- all[rank_in_d <= 10, ]
instructors <- sort(unique(all$d))
every_tenth <- instructors[seq(1, length(instructors), by = 10)]
new <- all[rank_in_d %in% 11:12 & all$d %in% every_tenth, ]
write.csv(train, file.path(datadir, "insteval_train.csv"), row.names = FALSE)
write.csv(new, file.path(datadir, "insteval_new.csv"), row.names = FALSE)
cat("train rows", nrow(train), "instructors", length(unique(train$d)), "new rows", nrow(new), "\n")

num <- function(x) paste0("[", paste(sprintf("%.17g", unname(x)), collapse = ", "), "]")
cases <- list()

gaussian_fit <- glm(y ~ factor(d) + service + lectage, family = gaussian, data = train)
g <- predict(gaussian_fit, newdata = new, se.fit = TRUE)
cases$gaussian <- sprintf(
  "    \"gaussian\": {\n      \"formula\": \"y ~ factor(d) + service + lectage\",\n      \"rank\": %d,\n      \"residual_scale\": %.17g,\n      \"fit\": %s,\n      \"se_fit\": %s\n    }",
  gaussian_fit$rank, g$residual.scale, num(g$fit), num(g$se.fit))

logistic_fit <- glm(I(y > 3) ~ factor(d) + service + lectage, family = binomial, data = train)
l <- predict(logistic_fit, newdata = new, se.fit = TRUE)
r <- predict(logistic_fit, newdata = new, se.fit = TRUE, type = "response")
cases$logistic <- sprintf(
  "    \"logistic\": {\n      \"formula\": \"I(y > 3) ~ factor(d) + service + lectage\",\n      \"rank\": %d,\n      \"fit\": %s,\n      \"se_fit\": %s,\n      \"response_fit\": %s,\n      \"response_se_fit\": %s\n    }",
  logistic_fit$rank, num(l$fit), num(l$se.fit), num(r$fit), num(r$se.fit))

writeLines(c("{", paste0("  \"r_version\": \"", R.version.string, "\",\n  \"cases\": {"),
             paste(unlist(cases), collapse = ",\n"), "  }", "}"),
           file.path(refdir, "blocks_prediction_reference.json"))
