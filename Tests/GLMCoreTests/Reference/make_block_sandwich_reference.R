#!/usr/bin/env Rscript
# Reference numbers for glmfit's sandwich covariances of fits by blocks (issue 25):
# sandwich::vcovHC and sandwich::vcovCL of glm fits with a 150-level factor.
#
# Data: lme4's InstEval (Examples/insteval.csv.gz) restricted to its 150 most rated
# instructors (d), with two made-up columns for the weighted cases: w = 1 + (row mod 3)/2
# (prior weights) and n = row mod 4 (frequency counts, zeros included). Written to
# block_sandwich_data/insteval_top150.csv.gz; the numbers to block_sandwich_reference.json.
#
# Usage (from anywhere):  Rscript Tests/GLMCoreTests/Reference/make_block_sandwich_reference.R
# (R 4.2.2, sandwich 3.0-2 when these numbers were made.)
#
# JSON by hand as the other scripts: numbers with sprintf("%.17g"); NA is null.

suppressPackageStartupMessages(library(sandwich))
invisible(Sys.setlocale("LC_COLLATE", "C"))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
refdir <- if (length(script) == 1) dirname(normalizePath(script)) else
  file.path("Tests", "GLMCoreTests", "Reference")
root <- normalizePath(file.path(refdir, "..", "..", ".."))

json_str <- function(s) paste0("\"", gsub("\"", "\\\"", s, fixed = TRUE), "\"")
json_num <- function(x) if (is.na(x) || !is.finite(x)) "null" else sprintf("%.17g", x)
json_num_array <- function(x) paste0("[", paste(vapply(as.list(x), json_num, ""), collapse = ", "), "]")
json_str_array <- function(x) paste0("[", paste(vapply(as.list(x), json_str, ""), collapse = ", "), "]")
json_matrix <- function(m) paste0("[", paste(vapply(seq_len(nrow(m)), function(i) json_num_array(m[i, ]), ""),
                                             collapse = ", "), "]")

full <- read.csv(gzfile(file.path(root, "Examples", "insteval.csv.gz")), stringsAsFactors = FALSE)
counts <- sort(table(full$d), decreasing = TRUE)
top <- names(counts)[1:150]
d <- full[full$d %in% top, c("s", "d", "studage", "lectage", "service", "y", "good")]
rownames(d) <- NULL
d$w <- 1 + (seq_len(nrow(d)) %% 3) / 2
d$n <- seq_len(nrow(d)) %% 4
datadir <- file.path(refdir, "block_sandwich_data")
dir.create(datadir, showWarnings = FALSE)
con <- gzfile(file.path(datadir, "insteval_top150.csv.gz"), "w")
write.csv(d, con, row.names = FALSE)
close(con)
d$s <- factor(d$s)
d$d <- factor(d$d)

# The rows a frequency count stands for, for R's fits of the expanded data.
expanded <- d[rep(seq_len(nrow(d)), d$n), ]

cases <- list(
  list(id = "binomial_top150", formula = good ~ service + factor(lectage) + d, family = binomial(),
       weights = NULL, frequency = FALSE),
  list(id = "gaussian_weighted_top150", formula = y ~ service + factor(studage) + d, family = gaussian(),
       weights = "w", frequency = FALSE),
  list(id = "poisson_frequency_top150", formula = y ~ service + factor(lectage) + d, family = poisson(),
       weights = NULL, frequency = TRUE)
)

objs <- character(0)
for (case in cases) {
  data <- if (case$frequency) expanded else d
  fit <- if (is.null(case$weights)) glm(case$formula, family = case$family, data = data) else
    glm(case$formula, family = case$family, data = data, weights = data[[case$weights]])
  kept <- names(coef(fit))[!is.na(coef(fit))]
  se <- function(v) sqrt(diag(v))[kept]
  # A few entries off the diagonal: the first three columns and three levels of d.
  pick <- c(kept[1:3], kept[length(kept) - 2], kept[length(kept) - 1], kept[length(kept)])
  sub <- function(v) v[pick, pick]
  hc <- lapply(c("HC0", "HC1", "HC2", "HC3"), function(t) vcovHC(fit, type = t))
  cl_s <- vcovCL(fit, cluster = ~ s)
  cl_d_hc1 <- vcovCL(fit, cluster = ~ d, type = "HC1")
  fields <- c(
    paste0("\"id\": ", json_str(case$id)),
    paste0("\"formula\": ", json_str(paste(deparse(case$formula), collapse = ""))),
    paste0("\"family\": ", json_str(case$family$family)),
    paste0("\"weights\": ", if (is.null(case$weights)) "null" else json_str(case$weights)),
    paste0("\"frequency_weights\": ", if (case$frequency) json_str("n") else "null"),
    paste0("\"coef_names\": ", json_str_array(kept)),
    paste0("\"picked\": ", json_str_array(pick)),
    paste0("\"se_HC0\": ", json_num_array(se(hc[[1]]))),
    paste0("\"se_HC1\": ", json_num_array(se(hc[[2]]))),
    paste0("\"se_HC2\": ", json_num_array(se(hc[[3]]))),
    paste0("\"se_HC3\": ", json_num_array(se(hc[[4]]))),
    paste0("\"se_CL_s\": ", json_num_array(se(cl_s))),
    paste0("\"se_CL_d_HC1\": ", json_num_array(se(cl_d_hc1))),
    paste0("\"vcov_HC0_picked\": ", json_matrix(sub(hc[[1]]))),
    paste0("\"vcov_HC3_picked\": ", json_matrix(sub(hc[[4]]))),
    paste0("\"vcov_CL_s_picked\": ", json_matrix(sub(cl_s)))
  )
  objs <- c(objs, paste0("{\n      ", paste(fields, collapse = ",\n      "), "\n    }"))
}
out <- c("{", paste0("  \"r_version\": ", json_str(R.version.string), ","),
         paste0("  \"sandwich\": ", json_str(format(packageVersion("sandwich"))), ","),
         "  \"cases\": [", paste0("    ", paste(objs, collapse = ",\n    ")), "  ]", "}")
writeLines(out, file.path(refdir, "block_sandwich_reference.json"))
