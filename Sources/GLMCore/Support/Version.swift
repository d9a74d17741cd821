/// The version of glmfit, written into saved models (`--save`) and shown by messages about
/// model files saved by another version.
public let GLMFitVersion = "0.1.0"
