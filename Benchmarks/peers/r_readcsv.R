# Peer: R with read.csv and glm. Usage: Rscript r_readcsv.R FILE FAMILY
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = TRUE)
family <- switch(args[2], poisson = poisson(), binomial = binomial(), gamma = Gamma(link = "log"),
                 gaussian = gaussian())
fit <- glm(y ~ ., family = family, data = d)
s <- summary(fit)
cat(sprintf("%.10g\n", coef(fit)[1]))
