import GLMCore
print(Distributions.pnorm(1.96))
