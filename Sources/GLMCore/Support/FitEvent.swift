/// What a long fit reports while it runs, for progress lines and timings.
public enum FitEvent: Sendable {
    /// A stage of the pipeline finished ("read", "frame", "design", "fit", "inference").
    case stageFinished(name: String, seconds: Double)
    /// The input was read: this many data rows.
    case rowsRead(Int)
    /// An IRLS iteration finished with this deviance.
    case iteration(number: Int, deviance: Double)
}

/// Receives `FitEvent`s; called on the fitting thread.
public typealias FitObserver = @Sendable (FitEvent) -> Void

/// Measures a stage and reports it to an optional observer.
struct StageTimer {
    let observer: FitObserver?

    func measure<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        guard let observer else { return try body() }
        let clock = ContinuousClock()
        let start = clock.now
        let result = try body()
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        observer(.stageFinished(name: name, seconds: seconds))
        return result
    }
}
