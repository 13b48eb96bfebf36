/// Why a probe run could not be made or finished: the CLI prints it as one line and exits with
/// `exitCode` (64 usage, 2 the tool failed, 128+N for a signal).
public enum ProbeProblem: Error, Equatable, CustomStringConvertible {
  /// The options contradict each other (two `--fsdax-dir` on one filesystem).
  case usage(String)
  /// A named object is not what the option needs, or the run cannot start (no root).
  case target(String)
  /// A terminating signal arrived; everything was released before this was thrown.
  case interrupted(signal: Int32, completed: Int)

  public var description: String {
    switch self {
    case .usage(let s), .target(let s): s
    case .interrupted(let sig, let n):
      "interrupted by signal \(sig) after \(n) probes; everything mapped, registered, opened or created was released"
    }
  }

  public var exitCode: Int32 {
    switch self {
    case .usage: 64
    case .target: 2
    case .interrupted(let sig, _): 128 + sig
    }
  }
}
