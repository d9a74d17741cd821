# Peer: R with data.table::fread and glm. Usage: Rscript r_datatable.R FILE FAMILY
args <- commandArgs(trailingOnly = TRUE)
suppressMessages(library(data.table))
d <- fread(args[1])
family <- switch(args[2], poisson = poisson(), binomial = binomial(), gamma = Gamma(link = "log"),
                 gaussian = gaussian())
fit <- glm(y ~ ., family = family, data = d)
s <- summary(fit)
# Every coefficient to 17 digits: make bench compares them with glmfit's (untimed run).
cat(sprintf("%s,%.17g\n", names(coef(fit)), coef(fit)), sep = "")
