# pscl::zeroinfl on the zip10 benchmark file (read with data.table::fread), poisson count
# part and logit zero part on x1..x10. Usage: Rscript r_zeroinfl.R FILE
suppressPackageStartupMessages({ library(data.table); library(pscl) })
d <- as.data.frame(fread(commandArgs(trailingOnly = TRUE)[1]))
fit <- zeroinfl(y ~ ., data = d, dist = "poisson")
cat(logLik(fit), "\n")
