# R reference for a sum-coded factor of 150 levels held as codes (issue 25, contrast blocks):
# lme4's InstEval (Examples/insteval.csv.gz), the 150 instructors with most ratings (ties
# broken by name), logistic regression of `good` on service and the instructor factor coded
# by contr.sum. Writes the subset (contrast_data/insteval_top150.csv) and the fit
# (contrast_block_reference.json).
#   cd Tests/GLMCoreTests/Reference && LC_ALL=C Rscript make_contrast_block_reference.R
suppressPackageStartupMessages(library(jsonlite))
Sys.setlocale("LC_COLLATE", "C")
ie <- read.csv("../../../Examples/insteval.csv.gz", stringsAsFactors = FALSE)
counts <- table(ie$d)
ranked <- names(counts)[order(-as.integer(counts), names(counts))]
top <- sort(ranked[1:150])
sub <- ie[ie$d %in% top, c("d", "service", "good")]
write.csv(sub, "contrast_data/insteval_top150.csv", row.names = FALSE)
sub$d <- factor(sub$d)
fit <- glm(good ~ service + d, family = binomial, data = sub, contrasts = list(d = "contr.sum"))
# The same model written as glmfit reads it: only the names differ.
fitC <- glm(good ~ service + C(d, sum), family = binomial, data = sub)
stopifnot(isTRUE(all.equal(unname(coef(fit)), unname(coef(fitC)), tolerance = 1e-12)))
s <- summary(fitC)
h <- hatvalues(fitC)
d1 <- drop1(fitC, test = "Chisq")
out <- list(
  data = "Tests/GLMCoreTests/Reference/contrast_data/insteval_top150.csv",
  formula = "good ~ service + C(d, sum)",
  n_obs = nrow(sub),
  coef_names = names(coef(fitC)),
  coefficients = unname(coef(fitC)),
  std_errors = unname(s$coefficients[, 2]),
  deviance = deviance(fitC),
  null_deviance = fitC$null.deviance,
  aic = AIC(fitC),
  iterations = fitC$iter,
  hat_first = unname(h[1:50]),
  hat_sum = sum(h),
  hat_max = max(h),
  drop1_terms = rownames(d1)[-1],
  drop1_deviance = unname(d1$Deviance[-1]),
  drop1_df = unname(d1$Df[-1])
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "contrast_block_reference.json")
cat(sprintf("rows %d, coefficients %d, deviance %.12g, aic %.12g, iterations %d\n",
            nrow(sub), length(coef(fitC)), deviance(fitC), AIC(fitC), fitC$iter))
