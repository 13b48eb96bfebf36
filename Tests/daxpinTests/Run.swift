import Foundation

/// Runs the built `daxpin` executable (it sits next to the test bundle) and captures its output.
struct Run {
  var status: Int32
  var stdout: String
  var stderr: String
  /// The signal that ended the process, if one did.
  var signalled: Int32?

  static var executable: String {
    let dir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    return dir.appendingPathComponent("daxpin").path
  }

  /// - Parameter asUser: run through `setpriv` with this uid (to test the non-root paths).
  /// - Parameter stdin: a file to give as standard input (otherwise the test's own).
  static func daxpin(_ args: [String], asUser uid: Int? = nil, environment: [String: String] = [:], stdin: String? = nil) throws -> Run {
    let p = Process()
    if let stdin {
      guard let h = FileHandle(forReadingAtPath: stdin) else { throw CocoaError(.fileReadNoSuchFile) }
      p.standardInput = h
    }
    if let uid {
      p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
      p.arguments = ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "--inh-caps=-all", executable] + args
    } else {
      p.executableURL = URL(fileURLWithPath: executable)
      p.arguments = args
    }
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    p.environment = env
    return try collect(p)
  }

  /// Runs `script` with `bash -c`, `$DAXPIN` set to the built executable (for `<(...)` and FIFOs).
  static func shell(_ script: String) throws -> Run {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = ["-c", script]
    p.environment = ProcessInfo.processInfo.environment.merging(["DAXPIN": executable]) { $1 }
    return try collect(p)
  }

  /// Starts `p` with its stdout and stderr piped, waits for it, and returns what it printed.
  private static func collect(_ p: Process) throws -> Run {
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Run(
      status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self),
      signalled: p.terminationReason == .uncaughtSignal ? p.terminationStatus : nil)
  }
}

var isRoot: Bool { getuid() == 0 }
