#if canImport(Glibc)
import Glibc
#endif
import GLMCore

/// The progress line on standard error (only when it is a terminal, and only once the work
/// has run for a second), and stage timings when GLMFIT_TIMINGS is set.
final class Progress: @unchecked Sendable {
    private let timings: Bool
    private let terminal: Bool
    private let start = ContinuousClock.now
    // Touched only from the fitting thread, the observer's only caller.
    private var rows = 0
    private var shown = false

    private init(timings: Bool, terminal: Bool) {
        self.timings = timings
        self.terminal = terminal
    }

    /// nil when there is nothing to show: standard error is not a terminal and no timings.
    static func start() -> Progress? {
        let progress = Progress(timings: getenv("GLMFIT_TIMINGS") != nil, terminal: isatty(STDERR_FILENO) == 1)
        return progress.timings || progress.terminal ? progress : nil
    }

    var observer: FitObserver {
        { [self] event in
            switch event {
            case let .stageFinished(name, seconds):
                guard timings else { return }
                Console.note("glmfit: \(name) \(String(format: "%.3f", seconds)) s")
                if name == "fit" { Console.note("glmfit: \(FreshMemory.summary)") }
            case let .rowsRead(count):
                rows = count
            case let .iteration(number, deviance):
                if timings {
                    let elapsed = (ContinuousClock.now - start) / .seconds(1)
                    Console.note("glmfit: iteration \(number), deviance \(deviance), at \(String(format: "%.3f", elapsed)) s")
                }
                guard terminal, ContinuousClock.now - start > .seconds(1) else { return }
                Console.progress("glmfit: \(rows) rows, iteration \(number), deviance \(deviance)")
                shown = true
            }
        }
    }

    /// Clears the progress line before anything else is written.
    func finish() {
        if shown { Console.progress("") }
        shown = false
    }
}

extension Optional where Wrapped == Progress {
    /// Runs the work, then clears the progress line whether it succeeded or not.
    func clearing<T>(_ work: () throws -> T) rethrows -> T {
        defer { self?.finish() }
        return try work()
    }
}
