import GLMCore
